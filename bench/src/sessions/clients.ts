/**
 * A crowd of clients over TCP in their own process, for the session benchmarks.
 * argv: address, count, timeout (ms), and optionally `raw`. Tether clients by default; `raw`
 * opens plain sockets that each send a Ping-sized frame every T/3, as an idle Tether client
 * does (the idle-scale baseline). Reports {ready} when every client is connected; the parent
 * can then SIGSTOP this process (every client falls silent at once) or just wait.
 */
import * as net from "node:net";
import { createClient, encodeLengthPrefixed, MessageType } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { Packr } from "msgpackr";

const [address, count, timeout, mode] = [
  process.argv[2] as string,
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5] ?? "tether",
];
const closers: (() => Promise<void> | void)[] = [];

const transport = tcp();

function connectTether(): Promise<void> {
  const client = createClient({ servers: [{ transport, address }], timeout, clientExpiry: false });
  closers.push(() => client.close());
  return client.connected();
}

/** The bytes of an idle Tether client's Ping ([3, pushAck, responseAck]), length-prefixed. */
const ping = encodeLengthPrefixed([new Packr({ useRecords: false }).pack([MessageType.Ping, 0, 0])]);

function connectRaw(): Promise<void> {
  const [host, port] = address.split(":") as [string, string];
  const socket = net.connect(Number(port), host);
  socket.setNoDelay(true);
  socket.on("data", () => {}); // the Pong: read and dropped, as a client would
  socket.on("error", () => {});
  const timer = setInterval(() => socket.write(ping), timeout / 3);
  closers.push(() => {
    clearInterval(timer);
    socket.destroy();
  });
  return new Promise((resolve) => socket.once("connect", () => resolve()));
}

// Connect in waves so the server's accept queue is never the thing being measured.
for (let i = 0; i < count; i += 500) {
  const size = Math.min(500, count - i);
  await Promise.all(Array.from({ length: size }, () => (mode === "raw" ? connectRaw() : connectTether())));
}
process.send?.({ ready: closers.length });
process.on("message", async () => {
  await Promise.all(closers.map((close) => close()));
  process.exit(0);
});
