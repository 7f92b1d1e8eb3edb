/**
 * The receiving side of bench/fanout, in its own process: argv variant, address, count,
 * expected deliveries. Reports {ready} once connected and {done} when every delivery arrived.
 */
import { createClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { io } from "socket.io-client";

const [variant, address, count, expected] = [
  process.argv[2] as string,
  process.argv[3] as string,
  Number(process.argv[4]),
  Number(process.argv[5]),
];
let received = 0;
const onMessage = () => {
  if (++received === expected) process.send?.({ done: received });
};
for (let i = 0; i < count; i += 250) {
  await Promise.all(
    Array.from({ length: Math.min(250, count - i) }, async () => {
      if (variant === "socket.io") {
        const socket = io(address, { transports: ["websocket"], forceNew: true });
        socket.on("news", onMessage);
        await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      } else {
        const transport = variant === "tether-tcp" ? tcp() : webSocket();
        const client = createClient({ servers: [{ transport, address }], timeout: 30_000 });
        client.on("push", onMessage);
        await client.connected();
      }
    }),
  );
}
process.send?.({ ready: true });
