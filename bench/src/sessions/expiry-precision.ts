/**
 * bench/expiry-precision: 10,000 TCP sessions on the real clock stop pinging at once (their
 * process is frozen with SIGSTOP). Each must expire in (T, T + tickTime] after its last frame,
 * plus at most 50 ms of timer and event-loop lateness. Reports the distribution of
 * (expiry - last frame - T).
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ChannelHandler, createServer, type HandlerContext, systemClock } from "@tether/core";
import { tcp } from "@tether/transport-tcp";

const SESSIONS = Number(process.env.SESSIONS ?? 10_000);
const T = 4000;
const TICK = 500;

const lastFrame = new Map<string, number>(); // session id → when its last frame arrived
/** Notes when each session's frames arrive; it sits before the codec, so it sees every frame. */
const tap = (): ChannelHandler => ({
  channelRead(ctx: HandlerContext, message: unknown) {
    ctx.fireRead(message);
    // After the session handler has seen it, so even the Hello's session is known.
    const id = (ctx.pipeline.get("session") as { session?: { id: string } } | undefined)?.session?.id;
    if (id !== undefined) lastFrame.set(id, systemClock.now());
  },
});
const server = createServer({
  tickTime: TICK,
  maxSessionTimeout: T,
  // Every client dials from 127.0.0.1: the per-address bounds would refuse all but the first thousand.
  maxConnectionsPerAddress: 0,
  maxSessionsPerAddress: 0,
  configurePipeline: (pipeline) => pipeline.addBefore("codec", "last-frame", tap()),
});
// A new session's Hello is authenticated asynchronously, after the tap saw the frame: note it here.
server.on("session", (session) => lastFrame.set(session.id, systemClock.now()));
server.on("expire", (session) => {
  const last = lastFrame.get(session.id);
  if (last !== undefined) overshoot.push(systemClock.now() - last - T);
});
const overshoot: number[] = [];
const { address } = await server.listen(tcp(), "127.0.0.1:0");

const child = fork(
  fileURLToPath(new URL("./clients.ts", import.meta.url)),
  [address, String(SESSIONS), String(T)],
  {
    execArgv: ["--conditions=tether-source", "--import", "tsx"],
  },
);
await new Promise((resolve) => child.once("message", resolve));
console.log(`expiry-precision: ${SESSIONS} sessions, T = ${T} ms, tickTime = ${TICK} ms`);
child.kill("SIGSTOP");
const frozenAt = systemClock.now();
while (overshoot.length < SESSIONS && systemClock.now() - frozenAt < 3 * T) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  if (process.env.DEBUG)
    console.log(
      Math.round(systemClock.now() - frozenAt),
      server.metrics().sessions,
      overshoot.length,
      lastFrame.size,
      server.metrics().stalls,
    );
}
child.kill("SIGKILL");
overshoot.sort((a, b) => a - b);
const at = (q: number) =>
  overshoot[Math.min(overshoot.length - 1, Math.floor(q * overshoot.length))] ?? Number.NaN;
const early = overshoot.filter((x) => x <= 0).length;
const late = overshoot.filter((x) => x > TICK + 50).length;
console.log(`expired: ${overshoot.length} of ${SESSIONS}`);
console.log(
  `expiry - last frame - T, ms: min ${at(0).toFixed(1)}, p50 ${at(0.5).toFixed(1)}, p99 ${at(0.99).toFixed(1)}, max ${at(1).toFixed(1)}`,
);
const histogram = new Map<number, number>();
for (const x of overshoot)
  histogram.set(Math.floor(x / 50) * 50, (histogram.get(Math.floor(x / 50) * 50) ?? 0) + 1);
for (const [bucket, n] of [...histogram].sort((a, b) => a[0] - b[0])) {
  console.log(`  (${bucket}, ${bucket + 50}] ms: ${n}`);
}
console.log(
  `goal: every one in (0, ${TICK} + 50] ms: ${early === 0 && late === 0 && overshoot.length === SESSIONS ? "met" : `MISSED (${early} early, ${late} late)`}`,
);
await server.close();
process.exit(0);
