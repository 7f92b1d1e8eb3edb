import { MessageType, silentLogger } from "@tether/core";
import { Redis } from "ioredis";
import { RedisSessionBackend } from "./dist/index.js";

const admin = new Redis({ port: 6399 });
await admin.flushall();
const backend = new RedisSessionBackend({ port: 6399 }, "cost:", silentLogger);
const ids = Array.from({ length: 16 }, (_, i) => `session-${i}-xxxxxxxx`);
for (const id of ids)
  await backend.create(
    { id, password: new Uint8Array(16), timeout: 30000, principal: null, deadline: 1e12 },
    "srv",
  );
const body = new Uint8Array(100).fill(7);
let seq = 1;
const stats = async () =>
  Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await admin.info("commandstats"))?.[1] ?? 0);
const t = { admit: 0, complete: 0, ack: 0 };
for (let round = 0; round < 100; round++) {
  const seqs = Array.from({ length: 64 }, (_, i) => seq + i);
  seq += 64;
  let before = await stats();
  await Promise.all(ids.flatMap((id) => seqs.map((s) => backend.admit(id, s, "srv"))));
  let after = await stats();
  t.admit += after - before;
  before = after;
  await Promise.all(
    ids.flatMap((id) =>
      seqs.map((s) => backend.complete(id, { type: MessageType.Response, seq: s, body }, "srv", 1024)),
    ),
  );
  after = await stats();
  t.complete += after - before;
  before = after;
  if (round % 4 === 3) {
    await Promise.all(ids.map((id) => backend.acknowledge(id, 0, seq - 64)));
    after = await stats();
    t.ack += after - before;
  }
}
const n = 100 * 1024;
console.log(
  "µs per request in EVALSHA:",
  Object.entries(t)
    .map(([k, v]) => `${k} ${(v / n).toFixed(3)}`)
    .join(", "),
);
const info = await admin.info("commandstats");
console.log(
  info
    .split("\n")
    .filter((l) => /hmget|hset|hdel|hget|evalsha/.test(l))
    .join("\n"),
);
await backend.close("srv");
admin.disconnect();
