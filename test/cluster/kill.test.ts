import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { wallClock } from "@tether/cluster-redis";
import { type ClientState, createClient, RequestError, type TetherClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { afterAll, describe, expect, it } from "vitest";
import { type SingleRedis, startRedis } from "../support/redis-server.js";

// Three Tether servers in three processes share sessions through one redis-server; one of
// them is killed with SIGKILL under load. Real time, real TCP on 127.0.0.1.

const T = 1500;
const TICK = 200; // a stall needs a tick-long delay: wide enough for a busy CI machine
const PREFIX = "kill:";

interface Node {
  child: ChildProcess;
  address: string;
  expired: [string, string, number][];
}

const cleanup: (() => unknown)[] = [];

afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function startNode(redis: SingleRedis, serverId: string, at?: string): Promise<Node> {
  const child = fork(fileURLToPath(new URL("../support/cluster-node.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx", "--conditions=tether-source"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  cleanup.push(() => child.kill("SIGKILL"));
  const expired: [string, string, number][] = [];
  child.on("message", (message: { expired?: [string, string, number] }) => {
    if (message.expired) expired.push(message.expired);
  });
  child.send({ start: { redisPath: redis.path, prefix: PREFIX, serverId, tickTime: TICK, address: at } });
  const { address } = await reply<{ address: string }>(child, "address");
  return { child, address, expired };
}

function reply<M>(child: ChildProcess, key: string): Promise<M> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${key}" from the server process`)), 15_000);
    const onMessage = (message: Record<string, unknown>) => {
      if (!(key in message)) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(message as M);
    };
    child.on("message", onMessage);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("cluster mode: a server killed with SIGKILL", () => {
  it("loses no session, request or push of clients that resume elsewhere, and expires the orphans once", async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const probe = redis.client();
    cleanup.push(() => probe.disconnect());
    const nodes = await Promise.all(["s0", "s1", "s2"].map((id) => startNode(redis, id)));
    const [victim, pusher] = nodes as [Node, Node, Node];

    // Nine clients, three starting on each server; their lists keep that order.
    const clients: TetherClient[] = [];
    const states = new Map<TetherClient, [ClientState, number][]>();
    const received = new Map<TetherClient, number[]>();
    for (let i = 0; i < 9; i++) {
      const servers = [0, 1, 2].map((k) => ({
        transport: tcp(),
        address: nodes[(i + k) % 3]?.address as string,
      }));
      const client = createClient({ servers, timeout: T, random: () => 0.999 });
      cleanup.push(() => client.close());
      clients.push(client);
      states.set(client, []);
      received.set(client, []);
      client.on("state", (state) => states.get(client)?.push([state, wallClock.now()]));
      client.on("push", (_topic, body) => received.get(client)?.push(body as number));
    }
    await Promise.all(clients.map((c) => c.connected()));
    const ids = clients.map((c) => c.sessionId as string);

    // Orphans: clients inside the victim's process, on every server; they die with it.
    victim.child.send({
      ghosts: { addresses: [0, 0, 0, 1, 2, 1].map((i) => nodes[i]?.address), timeout: T },
    });
    const { ghosts } = await reply<{ ghosts: string[] }>(victim.child, "ghosts");

    // Pushes to every client's session come from s1, wherever the session is carried.
    pusher.child.send({ pushTo: { ids, every: 20 } });

    // Requests: three loops per client, each request with a unique id counted by the handler.
    const outcomes = new Map<string, string>();
    let stopped = false;
    const loops: Promise<void>[] = [];
    for (const [c, client] of clients.entries()) {
      for (let loop = 0; loop < 3; loop++) {
        loops.push(
          (async () => {
            for (let n = 0; !stopped; n++) {
              const rid = `c${c}-${loop}-${n}`;
              try {
                await client.request("work", { rid });
                outcomes.set(rid, "ok");
              } catch (error) {
                outcomes.set(rid, error instanceof RequestError ? error.code : String(error));
              }
              await sleep(5);
            }
          })(),
        );
      }
    }
    // One request is still running on the victim when it dies.
    const onVictim = clients[0] as TetherClient;
    const slow = onVictim.request("work", { rid: "slow", delay: 60_000 }).then(
      () => "ok",
      (error: unknown) => (error instanceof RequestError ? error.code : String(error)),
    );
    await sleep(300);

    const killedAt = wallClock.now();
    victim.child.kill("SIGKILL");
    await sleep(T + 3 * TICK + 200);

    stopped = true;
    await Promise.all(loops);
    pusher.child.send({ stopPushing: true });
    const { pushed } = await reply<{ pushed: Record<string, number[]> }>(pusher.child, "pushed");
    await sleep(100);

    // Every client kept its session and was back within its timeout.
    for (const [i, client] of clients.entries()) {
      expect(client.sessionId).toBe(ids[i]);
      expect(client.state).toBe("connected");
      const history = states.get(client) ?? [];
      expect(history.map(([s]) => s)).not.toContain("expired");
      const drop = history.find(([s, at]) => s === "disconnected" && at >= killedAt);
      if (drop !== undefined) {
        const back = history.find(([s, at]) => s === "connected" && at >= drop[1]);
        expect(back).toBeDefined();
        expect((back?.[1] ?? Infinity) - killedAt).toBeLessThan(T);
      }
    }
    // The victim carried three of them: they moved.
    expect(
      clients.filter((c) => states.get(c)?.some(([s, at]) => s === "disconnected" && at >= killedAt)),
    ).toHaveLength(3);

    // No request ran twice; every answered request ran once; only the one caught running died with it.
    const runs = Object.fromEntries(
      Object.entries(await probe.hgetall(`${PREFIX}runs`)).map(([rid, n]) => [rid, Number(n)]),
    );
    expect(Object.values(runs).every((n) => n === 1)).toBe(true);
    expect(outcomes.size).toBeGreaterThan(300);
    const lost = [...outcomes].filter(([, outcome]) => outcome !== "ok");
    for (const [rid, outcome] of outcomes) {
      if (outcome === "ok") expect(runs[rid]).toBe(1);
    }
    // A request running on the victim when it died may have taken effect: it is not run again
    // but answered `server-lost`. Only the victim's three clients (0, 3, 6) had any there.
    for (const [rid, outcome] of lost) {
      expect(outcome).toBe("server-lost");
      expect(rid).toMatch(/^c[036]-/);
    }
    if (process.env.TETHER_CLUSTER_REPORT) {
      const unrun = lost.filter(([rid]) => runs[rid] === undefined).length;
      console.info(`requests ${outcomes.size}, server-lost ${lost.length} (${unrun} of them never started)`);
    }
    await expect(slow).resolves.toBe("server-lost");
    expect(runs.slow).toBe(1);

    // No push lost, none twice, all in order.
    for (const [i, client] of clients.entries()) {
      const got = received.get(client) ?? [];
      expect(got).toEqual([...got].sort((a, b) => a - b));
      expect(new Set(got).size).toBe(got.length);
      const sent = pushed[ids[i] as string] ?? [];
      expect(sent.length).toBeGreaterThan(20);
      expect(sent.filter((n) => !got.includes(n))).toEqual([]);
    }

    // The orphans expired once each, on a surviving server, within T + tick + one batching tick.
    const survivors = nodes.slice(1);
    const expiries = survivors.flatMap((n) => n.expired);
    expect(expiries.map(([id]) => id).sort()).toEqual([...ghosts].sort());
    for (const [, reason, at] of expiries) {
      expect(reason).toBe("expired");
      // Its last frame came at most 50 ms before the kill; but the victim's touches since its
      // last batch (up to a tick of them) died with it, so the deadline may count from then.
      expect(at - killedAt).toBeGreaterThan(T - 50 - TICK);
      // Its claim comes a tick after that deadline, on a timer that runs late when the machine
      // is busy (two cores, three servers, Redis and the rest of the suite): 111 and 166 ms
      // were seen in CI-like runs, so 250 ms are allowed.
      expect(at - killedAt).toBeLessThanOrEqual(T + 2 * TICK + 250);
    }

    // A server started again joins: it serves new sessions and resumes existing ones.
    const restarted = await startNode(redis, "s0-again");
    const fresh = createClient({ servers: [{ transport: tcp(), address: restarted.address }], timeout: T });
    cleanup.push(() => fresh.close());
    await fresh.connected();
    await expect(fresh.request("work", { rid: "after-restart" })).resolves.toEqual({
      rid: "after-restart",
      by: "s0-again",
    });
  }, 30_000);

  it("a server restarted under the same id inherits none of its predecessor's running requests", async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const probe = redis.client();
    cleanup.push(() => probe.disconnect());
    const victim = await startNode(redis, "s0");
    // Its replacement is up before it dies (a supervisor's overlap), under the same serverId.
    const replacement = await startNode(redis, "s0");
    const servers = [victim, replacement].map((node) => ({ transport: tcp(), address: node.address }));
    // Two clients on the victim, each with a request running there when it dies.
    const outcomes: Promise<unknown>[] = [];
    for (const rid of ["first", "second"]) {
      const client = createClient({ servers, timeout: T, random: () => 0.999 });
      cleanup.push(() => client.close());
      await client.connected({ timeout: 5000 });
      outcomes.push(
        client.request("work", { rid, delay: 60_000 }).then(
          () => "answered",
          (error: unknown) => (error instanceof RequestError ? error.code : String(error)),
        ),
      );
    }
    for (let i = 0; i < 100 && Object.keys(await probe.hgetall(`${PREFIX}runs`)).length < 2; i++)
      await sleep(20);
    victim.child.kill("SIGKILL");
    const settled = await Promise.race([Promise.all(outcomes), sleep(8 * T).then(() => "still waiting")]);
    // Both resumed on the replacement: their requests are lost, and each ran once.
    expect(settled).toEqual(["server-lost", "server-lost"]);
    expect(await probe.hgetall(`${PREFIX}runs`)).toEqual({ first: "1", second: "1" });
  });
});
