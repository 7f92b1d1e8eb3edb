// A two-host network on one machine: two network namespaces joined by a veth pair, a Tether
// peer process in each, and the faults a real network has. Linux only, as root; `netnsMissing()`
// says why a machine cannot build it. Addresses exist only inside the namespaces it creates, and
// `close()` deletes them (with the veth pair and every rule) and kills the peers.
//
// Faults, each applied in the namespaces only:
// - `cut()`: nftables drops every packet both ways, so neither side sees a FIN or an RST, like a
//   cable pulled between two switches. (Setting the link down would also remove the route, so a
//   dial would fail at once with ENETUNREACH instead of waiting for SYN-ACKs that never come.)
// - `loss(percent)`: nftables drops that share of packets at random, both ways.
// - `shape(direction, kbit)`: a tc token-bucket filter on the sending side's veth.

import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const PEER = fileURLToPath(new URL("./netns-peer.ts", import.meta.url));

export const SERVER_IP = "10.203.0.1";
export const CLIENT_IP = "10.203.0.2";

/** Why this machine cannot build the lab, or undefined if it can. */
export function netnsMissing(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root";
  const probe = `tether-probe-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "ignore" });
  } catch {
    return "`ip netns add` failed (is iproute2 installed, and may this process create namespaces?)";
  }
  try {
    const inProbe = (...command: string[]) =>
      execFileSync("ip", ["netns", "exec", probe, ...command], { stdio: "ignore" });
    try {
      inProbe("nft", "add table inet probe");
    } catch {
      return "nftables is missing or has no kernel support (apt-get install nftables)";
    }
    try {
      inProbe("ip", "link", "add", "tp0", "type", "veth", "peer", "name", "tp1");
      inProbe(
        "tc",
        "qdisc",
        "add",
        "dev",
        "tp0",
        "root",
        "tbf",
        "rate",
        "1mbit",
        "burst",
        "16kb",
        "latency",
        "100ms",
      );
    } catch {
      return "veth pairs or tc's tbf qdisc are unavailable";
    }
    return undefined;
  } finally {
    execFileSync("ip", ["netns", "del", probe], { stdio: "ignore" });
  }
}

export type Side = "server" | "client";

/** A Tether peer in one namespace, driven by `call` (see netns-peer.ts for the commands). */
export interface Peer {
  call<R = unknown>(command: string, args?: unknown): Promise<R>;
  /** Every event the peer reported so far: its states or expiries, with wall-clock times. */
  readonly events: PeerEvent[];
}

export interface PeerEvent {
  kind: "state" | "expire";
  value: string;
  session?: string;
  at: number;
}

export class NetnsLab {
  readonly #id = `${process.pid % 100_000}`;
  readonly #namespaces = { server: `tether-s-${this.#id}`, client: `tether-c-${this.#id}` };
  readonly #links = { server: `tts${this.#id}`, client: `ttc${this.#id}` };
  readonly #children: ChildProcess[] = [];

  static async create(): Promise<NetnsLab> {
    const lab = new NetnsLab();
    await lab.#build();
    return lab;
  }

  async #build() {
    await this.#removeNamespaces();
    const { server, client } = this.#namespaces;
    await run("ip", ["netns", "add", server]);
    await run("ip", ["netns", "add", client]);
    await this.#in(
      "server",
      "ip",
      "link",
      "add",
      this.#links.server,
      "type",
      "veth",
      "peer",
      "name",
      this.#links.client,
    );
    await this.#in("server", "ip", "link", "set", this.#links.client, "netns", client);
    for (const [side, ip] of [
      ["server", SERVER_IP],
      ["client", CLIENT_IP],
    ] as const) {
      await this.#in(side, "ip", "address", "add", `${ip}/30`, "dev", this.#links[side]);
      await this.#in(side, "ip", "link", "set", this.#links[side], "up");
      await this.#in(side, "ip", "link", "set", "lo", "up");
    }
    // Both nftables chains live in the client's namespace: its input is what the server sent.
    await this.#nft(
      "table inet lab {",
      "  chain input { type filter hook input priority 0; }",
      "  chain output { type filter hook output priority 0; }",
      "}",
    );
  }

  /** Starts a peer process in `side`'s namespace. */
  peer(side: Side): Peer {
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.#namespaces[side],
        process.execPath,
        "--import",
        "tsx",
        "--conditions=tether-source",
        PEER,
      ],
      { stdio: ["ignore", "inherit", "inherit", "ipc"] },
    );
    this.#children.push(child);
    const events: PeerEvent[] = [];
    const waiting = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();
    let nextId = 0;
    child.on("message", (message: { event?: PeerEvent; reply?: number; value?: never; error?: string }) => {
      if (message.event) events.push(message.event);
      if (message.reply === undefined) return;
      const call = waiting.get(message.reply);
      waiting.delete(message.reply);
      if (message.error !== undefined) call?.reject(new Error(message.error));
      else call?.resolve(message.value as never);
    });
    child.on("exit", (code, signal) => {
      for (const call of waiting.values())
        call.reject(new Error(`the ${side} peer exited (${code ?? signal})`));
      waiting.clear();
    });
    return {
      events,
      call: (command, args) =>
        new Promise((resolve, reject) => {
          const id = nextId++;
          waiting.set(id, { resolve, reject });
          child.send({ id, command, args });
        }),
    };
  }

  /** Drops every packet both ways until `restore()`. */
  async cut() {
    await this.#nft("add rule inet lab input drop", "add rule inet lab output drop");
  }

  /** Drops `percent` of the packets each way, at random, until `restore()`. */
  async loss(percent: number) {
    await this.#nft(
      `add rule inet lab input numgen random mod 100 < ${percent} drop`,
      `add rule inet lab output numgen random mod 100 < ${percent} drop`,
    );
  }

  /** Limits what `from` sends to `kbit` kilobits per second, until `restore()`. */
  async shape(from: Side, kbit: number) {
    await this.#in(
      from,
      "tc",
      "qdisc",
      "replace",
      "dev",
      this.#links[from],
      "root",
      "tbf",
      "rate",
      `${kbit}kbit`,
      "burst",
      "16kb",
      "latency",
      "2s",
    );
  }

  /** Removes every fault: drops and shaping. */
  async restore() {
    await this.#nft("flush chain inet lab input", "flush chain inet lab output");
    for (const side of ["server", "client"] as const) {
      await this.#in(side, "tc", "qdisc", "del", "dev", this.#links[side], "root").catch(() => {});
    }
  }

  /** Kills every peer started so far. */
  stopPeers() {
    for (const child of this.#children.splice(0)) child.kill("SIGKILL");
  }

  async close() {
    this.stopPeers();
    await this.#removeNamespaces();
  }

  #in(side: Side, ...command: string[]) {
    return run("ip", ["netns", "exec", this.#namespaces[side], ...command]);
  }

  async #nft(...lines: string[]) {
    const nft = spawn("ip", ["netns", "exec", this.#namespaces.client, "nft", "-f", "-"], {
      stdio: ["pipe", "ignore", "inherit"],
    });
    nft.stdin.end(`${lines.join("\n")}\n`);
    const code = await new Promise((resolve) => nft.on("exit", resolve));
    if (code !== 0) throw new Error(`nft failed on: ${lines.join("; ")}`);
  }

  async #removeNamespaces() {
    for (const name of Object.values(this.#namespaces)) {
      await run("ip", ["netns", "del", name]).catch(() => {});
    }
  }
}
