/**
 * A Tether server that shuts down cleanly on SIGTERM or SIGINT: it stops accepting, sends
 * every client Goodbye 4007 ("going away: reconnect elsewhere and resume"), closes each
 * connection gracefully, and exits. `server.close()` is bounded (each graceful close turns
 * into an abort after 5 s); a second signal, or a hung close, exits at once.
 *
 *   npx tsx --conditions=tether-source server.ts [port]
 */
import { createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";

const server = createServer();
server.handle("time", () => Date.now());
const listener = await server.listen(tcp(), `127.0.0.1:${process.argv[2] ?? "0"}`);
console.log(`listening on ${listener.address}`);
process.send?.({ address: listener.address });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    console.log(`${signal} again: exiting now`);
    process.exit(1);
  }
  stopping = true;
  console.log(`${signal}: saying goodbye to ${server.metrics().connections} connections`);
  const hung = setTimeout(() => {
    console.log("shutdown took too long: exiting anyway");
    process.exit(1);
  }, 10_000);
  hung.unref();
  await server.close();
  console.log("closed cleanly");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
