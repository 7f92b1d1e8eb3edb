import {
  type CloseInfo,
  type Connection,
  ConnectionResetError,
  DialError,
  ManualClock,
  TimeoutError,
} from "@tether/core";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryNetwork, type MemoryLink } from "../src/index.js";

/** Lets setImmediate-scheduled deliveries run (zero-latency frames are macrotasks). */
const turn = () => new Promise((resolve) => setImmediate(resolve));
async function turns(n = 5) {
  for (let i = 0; i < n; i++) await turn();
}

const open: Connection[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.abort();
});

async function setup(random: () => number = Math.random) {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock, random });
  let server!: Connection;
  await network.transport().listen("server", (c) => {
    server = c;
  });
  const client = await network.transport({ address: "client" }).dial("server");
  await turn();
  open.push(client, server);
  const link = network.links("server")[0] as MemoryLink;
  const events = { client: [] as string[], server: [] as string[] };
  const record = (side: "client" | "server", c: Connection) => {
    c.on("frame", (f) => events[side].push(`frame:${Buffer.from(f).toString()}`));
    c.on("close", (info: CloseInfo) => events[side].push(`close:${info.error?.name ?? "clean"}`));
    c.on("drain", () => events[side].push("drain"));
  };
  record("client", client);
  record("server", server);
  return { clock, network, client, server, link, events };
}

const text = (s: string) => Buffer.from(s);

describe("memory transport faults", () => {
  it("black-hole: frames vanish both ways, both ends stay open with no events; heal restores delivery", async () => {
    const { clock, client, server, link, events } = await setup();
    link.blackHole();
    expect(client.send(text("lost-1"))).toBe(true);
    server.send(text("lost-2"));
    await turns();
    await clock.advanceAsync(60_000);
    expect(events).toEqual({ client: [], server: [] });
    expect(client.status).toBe("open");
    expect(server.status).toBe("open");
    link.heal();
    client.send(text("back"));
    server.send(text("again"));
    await turns();
    expect(events).toEqual({ client: ["frame:again"], server: ["frame:back"] });
  });

  it("black-hole also swallows frames already in flight", async () => {
    const { clock, client, link, events } = await setup();
    link.setLatency(100);
    client.send(text("in-flight"));
    await clock.advanceAsync(50);
    link.blackHole();
    await clock.advanceAsync(100);
    expect(events.server).toEqual([]);
  });

  it("partition cuts an address's links and makes new dials hang until heal", async () => {
    const { clock, network, client, server, events } = await setup();
    network.partition("server");
    client.send(text("x"));
    server.send(text("y"));
    await turns();
    expect(events).toEqual({ client: [], server: [] });
    const dial = expect(network.transport().dial("server", { connectTimeout: 1000 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    await turns();
    await clock.advanceAsync(1000);
    await dial;
    network.heal("server");
    client.send(text("z"));
    await turns();
    expect(events.server).toEqual(["frame:z"]);
    const fresh = await network.transport().dial("server");
    open.push(fresh);
    expect(fresh.status).toBe("open");
  });

  it("adds latency from the injected clock, keeping order when latency changes", async () => {
    const { clock, client, link, events } = await setup();
    link.setLatency(500);
    client.send(text("slow"));
    link.setLatency(0);
    client.send(text("fast-but-behind"));
    await turns();
    expect(events.server).toEqual([]);
    await clock.advanceAsync(499);
    expect(events.server).toEqual([]);
    await clock.advanceAsync(1);
    expect(events.server).toEqual(["frame:slow", "frame:fast-but-behind"]);
  });

  it("drops frames with the configured probability, from the injected randomness", async () => {
    let i = 0;
    const { client, link, events } = await setup(() => (i++ % 2 === 0 ? 0.1 : 0.9));
    link.setDropRate(0.5);
    for (let n = 0; n < 6; n++) client.send(text(String(n)));
    await turns();
    expect(events.server).toEqual(["frame:1", "frame:3", "frame:5"]);
  });

  it("reset closes both ends at once with an error", async () => {
    const { client, server, link } = await setup();
    link.reset();
    const [c, s] = await Promise.all([client.closed, server.closed]);
    expect(c.error).toBeInstanceOf(Error);
    expect(s.error).toBeInstanceOf(Error);
    expect(c.local).toBe(false);
  });

  it("a peer's abort reaches this end as ConnectionResetError", async () => {
    const { client, server } = await setup();
    server.abort();
    const info = await client.closed;
    expect(info.error).toBeInstanceOf(ConnectionResetError);
  });

  it("a paused reader fills the sender's buffer until send returns false, then drains", async () => {
    const { client, server, events } = await setup();
    server.pause();
    const frame = new Uint8Array(8 * 1024);
    let sent = 0;
    while (client.send(frame)) sent++;
    sent++;
    expect(client.bufferedAmount).toBeGreaterThanOrEqual(64 * 1024);
    await turns();
    expect(events.server).toEqual([]);
    server.resume();
    await turns();
    expect(events.client).toEqual(["drain"]);
    expect(events.server).toHaveLength(sent);
    expect(client.bufferedAmount).toBe(0);
  });

  it("copies frames: the sender may reuse its buffer", async () => {
    const { client, events } = await setup();
    const buffer = Buffer.from("abc");
    client.send(buffer);
    buffer.write("xyz");
    await turns();
    expect(events.server).toEqual(["frame:abc"]);
  });

  it("networks are isolated: a name bound in one is unknown in another", async () => {
    const a = createMemoryNetwork();
    const b = createMemoryNetwork();
    const listener = await a.transport().listen("shared-name", () => {});
    await expect(b.transport().dial("shared-name")).rejects.toBeInstanceOf(DialError);
    await listener.close();
  });
});

describe("memory faults compose", () => {
  it("a link-level heal does not undo a partition of its address", async () => {
    const { network, client, link, events } = await setup();
    link.blackHole();
    network.partition("client");
    link.heal(); // e.g. a black-hole's timer ending while the partition lasts
    client.send(text("still cut"));
    await turns();
    expect(events.server).toEqual([]);
    network.heal("client");
    client.send(text("through"));
    await turns();
    expect(events.server).toEqual(["frame:through"]);
  });
});

describe("memory water marks", () => {
  it("fires drain once the queue is down to the low-water mark", async () => {
    for (const [lowWaterMark, drainAt] of [
      [undefined, 15], // default: half of 32 KiB
      [8 * 1024, 16],
    ] as const) {
      const clock = new ManualClock();
      const network = createMemoryNetwork({ clock });
      await network.transport().listen("server", () => {});
      const client = await network
        .transport({ highWaterMark: 32 * 1024, ...(lowWaterMark === undefined ? {} : { lowWaterMark }) })
        .dial("server");
      await turn();
      network.links()[0]?.setLatency(10);
      let drainedAt = -1;
      client.on("drain", () => {
        drainedAt = clock.now();
      });
      const accepted: boolean[] = [];
      for (let i = 0; i < 8; i++) {
        accepted.push(client.send(new Uint8Array(8 * 1024)));
        await clock.advanceAsync(1); // frames leave at 0..7 ms and arrive at 10..17 ms
      }
      expect(accepted).toEqual([true, true, true, false, false, false, false, false]);
      await clock.advanceAsync(20);
      expect(drainedAt).toBe(drainAt);
      client.abort();
    }
  });
});
