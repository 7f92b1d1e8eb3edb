/**
 * A crowd of Tether clients in their own process (so they keep pinging while the test
 * process's event loop is blocked). Driven over IPC by `test/hardening/stall.test.ts`.
 */
import { createClient, type TetherClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";

interface Start {
  address: string;
  count: number;
  timeout: number;
}

const clients: TetherClient[] = [];
let disconnects = 0;

process.on("message", async (message: { start?: Start; report?: true; stop?: true }) => {
  if (message.start) {
    const { address, count, timeout } = message.start;
    for (let i = 0; i < count; i++) {
      const client = createClient({ servers: [{ transport: tcp(), address }], timeout, clientExpiry: false });
      client.on("state", (state) => {
        if (state === "disconnected") disconnects++;
      });
      clients.push(client);
    }
    await Promise.all(clients.map((c) => c.connected()));
    process.send?.({ ready: true });
  } else if (message.report) {
    process.send?.({
      states: clients.map((c) => c.state),
      sessions: clients.map((c) => c.sessionId),
      disconnects,
    });
  } else if (message.stop) {
    await Promise.all(clients.map((c) => c.close()));
    process.exit(0);
  }
});
