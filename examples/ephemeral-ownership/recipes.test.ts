import { createClient, createServer, ManualClock } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { describe, expect, it } from "vitest";
import { installKeyStore } from "./key-store.js";
import { acquireLock, runForLeader } from "./recipes.js";

async function world() {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server = createServer({ clock, tickTime: 500 });
  installKeyStore(server);
  await server.listen(network.transport(), "store");
  const connect = (name: string) =>
    createClient({
      servers: [{ transport: network.transport({ address: name }), address: "store" }],
      timeout: 3000,
      clock,
    });
  return { clock, network, server, connect };
}

describe("lock and leader-election recipes", () => {
  it("a lock admits one holder at a time across contending sessions", async () => {
    const { clock, server, connect } = await world();
    const clients = ["a", "b", "c", "d"].map(connect);
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    const work = clients.map(async (client, i) => {
      for (let round = 0; round < 3; round++) {
        const release = await acquireLock(client, "mutex", i);
        inside++;
        maxInside = Math.max(maxInside, inside);
        order.push(i);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
        inside--;
        await release();
      }
    });
    let done = false;
    const all = Promise.all(work).then(() => {
      done = true;
    });
    for (let i = 0; i < 500 && !done; i++) await clock.advanceAsync(20);
    await all;
    expect(maxInside).toBe(1);
    expect(order).toHaveLength(12);
    for (const c of clients) await c.close();
    await server.close();
  });

  it("a new leader is elected when the leader's session dies", async () => {
    const { clock, network, server, connect } = await world();
    const alice = connect("alice");
    const bob = connect("bob");
    const elected: string[] = [];
    await clock.advanceAsync(10);
    await runForLeader(alice, "leader", "alice", () => elected.push("alice"));
    const bobRun = runForLeader(bob, "leader", "bob", () => elected.push("bob"));
    await clock.advanceAsync(1000);
    expect(elected).toEqual(["alice"]);
    network.partition("alice"); // alice's process hangs; her session must end before bob leads
    for (let i = 0; i < 100 && elected.length < 2; i++) await clock.advanceAsync(100);
    expect(elected).toEqual(["alice", "bob"]);
    await bobRun;
    network.heal();
    await bob.close();
    await alice.close();
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    for (let i = 0; i < 100 && !closed; i++) await clock.advanceAsync(100);
    await closing;
  });
});
