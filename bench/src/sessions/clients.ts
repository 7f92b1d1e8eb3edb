/**
 * A crowd of clients over TCP in their own process, for the session benchmarks.
 * argv: address, count, timeout (ms), optionally `raw` or `wire`, and optionally a spread in ms.
 * Tether clients by default; `raw` opens plain sockets that each send a Ping-sized frame every
 * T/3, as an idle Tether client does (the idle-scale baseline): the first one at connect (the
 * Hello's place) and the rest from its answer on (a Tether client's heartbeat starts at its
 * Welcome). `wire` does the same on the same timers, but speaks Tether (a Hello, then real
 * Pings), so a Tether server can be given exactly the raw crowd's arrivals. With a spread, the
 * connects are paced evenly over that long, so the clients' pings arrive spread out as
 * uncoordinated clients' do, in every mode alike; without one they go in waves of 500 at once.
 * Reports {ready} when every client is connected; the parent can then SIGSTOP this process
 * (every client falls silent at once) or just wait.
 */
import * as net from "node:net";
import { createClient, encodeLengthPrefixed, MessageType, PROTOCOL_VERSION } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { Packr } from "msgpackr";

const [address, count, timeout, mode, spreadMs] = [
  process.argv[2] as string,
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5] ?? "tether",
  Number(process.argv[6] ?? 0),
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

/** A new session's Hello, length-prefixed: what `wire` sends where `raw` sends its first Ping. */
const hello = encodeLengthPrefixed([
  new Packr({ useRecords: false }).pack([MessageType.Hello, PROTOCOL_VERSION, timeout, null, null, 0, null]),
]);

function connectRaw(first: Uint8Array = ping): Promise<void> {
  const [host, port] = address.split(":") as [string, string];
  const socket = net.connect(Number(port), host);
  socket.setNoDelay(true);
  socket.on("error", () => {});
  let timer: ReturnType<typeof setInterval> | undefined;
  closers.push(() => {
    clearInterval(timer);
    socket.destroy();
  });
  socket.once("connect", () => socket.write(first));
  return new Promise((resolve) => {
    // Every answer is read and dropped, as a client would; the first one starts the heartbeat.
    socket.on("data", () => {
      if (timer !== undefined) return;
      timer = setInterval(() => socket.write(ping), timeout / 3);
      resolve();
    });
  });
}

const WAVE = spreadMs > 0 ? 50 : 500;
const waves = Math.ceil(count / WAVE);
const connect =
  mode === "raw" ? () => connectRaw() : mode === "wire" ? () => connectRaw(hello) : connectTether;
const started = performance.now();
for (let wave = 0; wave < waves; wave++) {
  const size = Math.min(WAVE, count - wave * WAVE);
  await Promise.all(Array.from({ length: size }, connect));
  // With a spread, the next wave waits for its own moment; without, the server's accept queue
  // is never the thing being measured either way.
  const due = started + ((wave + 1) * spreadMs) / waves;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
process.send?.({ ready: closers.length });
process.on("message", async () => {
  await Promise.all(closers.map((close) => close()));
  process.exit(0);
});
