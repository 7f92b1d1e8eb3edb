/**
 * A crowd of Tether clients over TCP in their own process, for the session benchmarks.
 * argv: address, count, timeout (ms). Reports {ready} when every client is connected; the
 * parent can then SIGSTOP this process (every client falls silent at once) or just wait.
 */
import { createClient, type TetherClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";

const [address, count, timeout] = [
  process.argv[2] as string,
  Number(process.argv[3]),
  Number(process.argv[4]),
];
const clients: TetherClient[] = [];
const transport = tcp();
// Connect in waves so the server's accept queue is never the thing being measured.
for (let i = 0; i < count; i += 500) {
  const wave = Array.from({ length: Math.min(500, count - i) }, () => {
    const client = createClient({ servers: [{ transport, address }], timeout, clientExpiry: false });
    clients.push(client);
    return client.connected();
  });
  await Promise.all(wave);
}
process.send?.({ ready: clients.length });
process.on("message", async () => {
  await Promise.all(clients.map((c) => c.close()));
  process.exit(0);
});
