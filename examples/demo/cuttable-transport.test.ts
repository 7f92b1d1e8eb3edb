import { type Connection, createClient, createServer, ManualClock } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { describe, expect, it } from "vitest";
import { closeOnClock } from "../../test/support/close-on-clock.js";
import { CuttableTransport } from "./cuttable-transport.js";

describe("the demo's cuttable transport", () => {
  it("a pulled cable is noticed 2T/3 after the last frame heard, before the server expires the session", async () => {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    const server = createServer({ clock, tickTime: 500 });
    await server.listen(network.transport(), "server");
    const cable = new CuttableTransport(network.transport());
    const client = createClient({ servers: [{ transport: cable, address: "server" }], clock, timeout: 6000 });
    const states: Array<[number, string]> = [];
    client.on("state", (state) => states.push([clock.now(), state]));
    await client.connected();
    await clock.advanceAsync(3000); // heartbeats running: a Ping and its Pong every T/3
    cable.cut = true;
    const cutAt = clock.now();
    let sessionsAtDisconnect = -1;
    client.on("state", (state) => {
      if (state === "disconnected") sessionsAtDisconnect = server.metrics().sessions;
    });
    for (let i = 0; i < 60 && !states.some(([, s]) => s === "disconnected"); i++)
      await clock.advanceAsync(100);
    const disconnectedAt = states.find(([, s]) => s === "disconnected")?.[0] as number;
    // Nothing is heard after the cut, so 2T/3 (4 s) after it at the latest, and before the
    // server expires the session (T after the last frame it heard, plus a tick).
    expect(disconnectedAt - cutAt).toBeLessThanOrEqual(4000 + 100);
    expect(sessionsAtDisconnect).toBe(1);
    cable.cut = false;
    await closeOnClock(clock, client, server);
  });

  it("a close from the far end while the cable is cut is heard only when it is back", async () => {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    let far: Connection | undefined;
    const listener = await network.transport().listen("far", (c) => {
      far = c;
    });
    const cable = new CuttableTransport(network.transport());
    const near = await cable.dial("far");
    await clock.advanceAsync(0);
    let closed = false;
    near.on("close", () => {
      closed = true;
    });
    cable.cut = true;
    far?.abort();
    await clock.advanceAsync(1000);
    expect(closed).toBe(false);
    expect(near.status).toBe("open");
    cable.cut = false;
    expect(closed).toBe(true);
    await listener.close();
  });
});
