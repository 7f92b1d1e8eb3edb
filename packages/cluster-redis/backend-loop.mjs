import { encodeFrame, encodeServerMessage, MessageType, silentLogger } from "@tether/core";
import { Redis } from "ioredis";
import { RedisSessionBackend } from "./dist/index.js";

const admin = new Redis({ port: 6399 });
await admin.flushall();
const own = process.env.NOAP ? new Redis({ port: 6399 }) : undefined;
const backend = new RedisSessionBackend(own ?? { port: 6399 }, "loop:", silentLogger);
const id = "session-loop-xxxxxxxxxxxx";
await backend.create(
  { id, password: new Uint8Array(16), timeout: 30000, principal: null, deadline: 1e12 },
  "srv",
);
const body = new Uint8Array(100).fill(7);
let seq = 1;
const ROUNDS = Number(process.env.ROUNDS ?? 3000);
for (const phase of ["warm", "measure"]) {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    const requests = Array.from({ length: 64 }, (_, i) => ({ id, seq: seq + i }));
    await backend.admit(requests, "srv");
    const answers = requests.map(({ seq }) => {
      const response = { type: MessageType.Response, seq, body };
      return { id, response, runner: "srv", frame: encodeFrame(encodeServerMessage(response)) };
    });
    await backend.complete(answers, 1024);
    seq += 64;
    if (round % 4 === 3) await backend.acknowledge(id, 0, seq - 64);
  }
  const used = process.cpuUsage(cpu);
  if (phase === "measure")
    console.log(
      "node CPU µs per request:",
      ((used.user + used.system) / (ROUNDS * 64)).toFixed(2),
      "user",
      (used.user / (ROUNDS * 64)).toFixed(2),
      "wall µs/request",
      (((performance.now() - t0) * 1000) / (ROUNDS * 64)).toFixed(2),
    );
}
await backend.close("srv");
own?.disconnect();
admin.disconnect();
