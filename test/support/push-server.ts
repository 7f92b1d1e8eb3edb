/**
 * A Tether server in its own process that pushes to every session every `every` ms, so frames
 * keep arriving while the test process's event loop is blocked. Driven over IPC.
 */
import { createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";

const server = createServer({ tickTime: 100 });
let timer: ReturnType<typeof setInterval> | undefined;

process.on("message", async (message: { start?: { every: number }; stop?: true }) => {
  if (message.start) {
    const listener = await server.listen(tcp(), "127.0.0.1:0");
    timer = setInterval(() => {
      for (const session of server.sessions()) session.push("tick", Date.now());
    }, message.start.every);
    process.send?.({ address: listener.address });
  } else if (message.stop) {
    clearInterval(timer);
    await server.close();
    process.exit(0);
  }
});
