import { type Clock, createClient, createServer } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { installKeyStore, type KeyEvent } from "./key-store.js";

export interface Timeline {
  at: number;
  line: string;
}

/**
 * Alice owns "leader"; Bob watches it. Alice's cable is pulled (a memory black-hole): no close
 * reaches anyone. The server expires her session within T + tickTime, deletes the key, Bob
 * hears of it and takes over. `advance` lets time pass (real sleep or ManualClock).
 */
export async function runScenario(
  clock: Clock,
  advance: (ms: number) => Promise<void>,
  log: (line: string) => void,
) {
  const T = 3000;
  const start = clock.now();
  const say = (line: string) => log(`${String(Math.round(clock.now() - start)).padStart(5)} ms  ${line}`);
  const network = createMemoryNetwork({ clock });
  const server = createServer({ clock, tickTime: 500 });
  const store = installKeyStore(server);
  server.on("expire", (session, reason) => say(`server: session ${session.id.slice(0, 8)} ${reason}`));
  await server.listen(network.transport(), "store");

  const connect = (name: string) =>
    createClient({
      servers: [{ transport: network.transport({ address: name }), address: "store" }],
      timeout: T,
      clock,
    });
  const alice = connect("alice");
  const bob = connect("bob");
  const events: KeyEvent[] = [];
  bob.on("push", (topic, body) => {
    if (topic !== "key") return;
    const event = body as KeyEvent;
    events.push(event);
    say(`bob: "leader" is now ${event.owner === null ? "free" : `owned by ${event.owner.slice(0, 8)}`}`);
  });
  alice.on("state", (state) => say(`alice: ${state}`));

  await advance(10);
  await alice.request("claim", { key: "leader", value: "alice" });
  say(`alice: claimed "leader" as session ${alice.sessionId?.slice(0, 8)}`);
  await bob.request("watch", { key: "leader" });
  await advance(T);

  say("alice: cable pulled");
  const cutAt = clock.now();
  network.partition("alice");
  let bobLeads = false;
  let freedAfter = Number.NaN;
  for (let waited = 0; waited < 3 * T && !bobLeads; waited += 100) {
    await advance(100);
    if (events.some((e) => e.owner === null)) {
      bobLeads = (await bob.request("claim", { key: "leader", value: "bob" }).catch(() => false)) === true;
      if (bobLeads) {
        freedAfter = Math.round(clock.now() - cutAt);
        say(`bob: claimed "leader" ${freedAfter} ms after the cut`);
      }
    }
  }
  // Alice's client cannot hear the server either: it gives the session up 4T/3 after the cut.
  for (let waited = 0; waited < 2 * T && alice.state !== "expired"; waited += 100) await advance(100);
  const result = {
    bobLeads,
    leader: store.keys.get("leader")?.value,
    aliceState: alice.state,
    freedAfter,
    events,
  };
  await bob.close();
  await alice.close();
  network.heal();
  let closed = false;
  const closing = server.close().then(() => {
    closed = true;
  });
  for (let i = 0; i < 100 && !closed; i++) await advance(100);
  await closing;
  return result;
}
