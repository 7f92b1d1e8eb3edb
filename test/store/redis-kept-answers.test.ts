// How the Redis backend keeps answers: as the frame the client got (no second encoding), read
// back as messages whether kept that way or as the message object earlier versions kept; and
// a session's hashes as hash tables once they grow (a listpack walks every entry per lookup).
import { RedisSessionBackend } from "@tether/cluster-redis";
import { decodeFrame, MessageType, type ResponseMessage, silentLogger } from "@tether/core";
import { Packr } from "msgpackr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { redisForTests } from "../support/redis-for-tests.js";

const redis = redisForTests("redis");
const SERVER = "server-a";

/** A live session's record, due far in the future. */
function sessionRecord(id: string) {
  return { id, password: new Uint8Array(16), timeout: 10_000, principal: null, deadline: 1e12 };
}

describe("Redis backend: kept answers", () => {
  let backend: RedisSessionBackend;
  let prefix: string;
  let runs = 0;
  const id = "kept-answers-session";

  beforeEach(async () => {
    prefix = `kept${++runs}:`;
    backend = new RedisSessionBackend(redis.server.connection, prefix, silentLogger);
    expect(await backend.create(sessionRecord(id), SERVER)).toBe(true);
  });

  afterEach(async () => {
    await backend.close(SERVER);
  });

  async function keep(response: ResponseMessage, frame?: Uint8Array): Promise<void> {
    expect(await backend.admit([{ id, seq: response.seq }], SERVER)).toEqual([{ kind: "run" }]);
    expect(await backend.complete([{ id, response, runner: SERVER, frame }], 100)).toEqual(["kept"]);
  }

  it("keeps the frame it is given, byte for byte, and reads it back as the message", async () => {
    const response: ResponseMessage = { type: MessageType.Response, seq: 1, body: { n: 1 } };
    // The frame the client got; a backend must not care where in a larger buffer it sits.
    const frame = new Uint8Array([0xff, 0x93, MessageType.Response, 1, 0x81, 0xa1, 0x6e, 0x01]).subarray(1);
    await keep(response, frame);
    const kept = await redis.probe.hgetBuffer(`${prefix}r:${id}`, "1");
    expect(kept && [...kept]).toEqual([...frame]);
    expect((await backend.read(id, 0))?.responses).toEqual([response]);
    expect(await backend.admit([{ id, seq: 1 }], "server-b")).toEqual([{ kind: "answered", response }]);
  });

  it("encodes an answer given without its frame (a server-lost verdict) in the wire form", async () => {
    const response: ResponseMessage = {
      type: MessageType.ErrorResponse,
      seq: 2,
      code: "server-lost",
      message: "the server running this request died before answering",
    };
    await keep(response);
    const kept = await redis.probe.hgetBuffer(`${prefix}r:${id}`, "2");
    expect(decodeFrame(kept as Buffer)).toEqual([
      MessageType.ErrorResponse,
      2,
      response.code,
      response.message,
    ]);
    expect((await backend.read(id, 0))?.responses).toEqual([response]);
  });

  it("makes a session's marks and answers hash tables once a batch takes them past 32 entries, leaving no trace", async () => {
    const r = `${prefix}r:${id}`;
    const q = `${prefix}q:${id}`;
    const small = Array.from({ length: 8 }, (_, i) => ({ id, seq: 10 + i }));
    await backend.admit(small, SERVER);
    expect(await redis.probe.object("ENCODING", q)).toBe("listpack");
    const many = Array.from({ length: 40 }, (_, i) => ({ id, seq: 20 + i }));
    expect(await backend.admit(many, SERVER)).toEqual(many.map(() => ({ kind: "run" })));
    expect(await redis.probe.object("ENCODING", q)).toBe("hashtable");
    // Short answers would keep a listpack too.
    const answers = many.map(({ seq }) => ({
      id,
      response: { type: MessageType.Response, seq, body: seq } as ResponseMessage,
      runner: SERVER,
    }));
    expect(await backend.complete(answers, 100)).toEqual(answers.map(() => "kept"));
    expect(await redis.probe.object("ENCODING", r)).toBe("hashtable");
    expect(await redis.probe.hlen(q)).toBe(48);
    expect(await redis.probe.hlen(r)).toBe(40);
    expect((await redis.probe.hkeys(q)).every((field) => /^\d+$/.test(field))).toBe(true);
    expect((await redis.probe.hkeys(r)).every((field) => /^\d+$/.test(field))).toBe(true);
  });

  it("splits a batch of large answers so no script call carries more than 4 MiB of them", async () => {
    const body = new Uint8Array(3 << 20).fill(7);
    const answers = [1, 2, 3].map((seq) => ({
      id,
      response: { type: MessageType.Response, seq, body } as ResponseMessage,
      runner: SERVER,
    }));
    expect(
      await backend.admit(
        [1, 2, 3].map((seq) => ({ id, seq })),
        SERVER,
      ),
    ).toHaveLength(3);
    const before = await scriptCalls();
    expect(await backend.complete(answers, 100)).toEqual(["kept", "kept", "kept"]);
    expect((await scriptCalls()) - before).toBe(3);
    expect((await backend.read(id, 0))?.responses.map(({ seq }) => seq).sort()).toEqual([1, 2, 3]);
  });

  it("splits a batch of more than a thousand requests into calls, and answers each in its place", async () => {
    const other = `${id}-other`;
    expect(await backend.create(sessionRecord(other), SERVER)).toBe(true);
    // 2,500 requests, the two sessions interleaved in runs of 50: three admit calls.
    const refs = Array.from({ length: 2500 }, (_, i) => ({
      id: Math.floor(i / 50) % 2 === 0 ? id : other,
      seq: i + 1,
    }));
    await backend.admit([{ id: other, seq: 1 }], "server-b"); // one decided elsewhere
    let before = await scriptCalls();
    const admissions = await backend.admit(refs, SERVER);
    expect((await scriptCalls()) - before).toBe(3);
    expect(admissions).toEqual(
      refs.map((ref) =>
        ref.id === other && ref.seq === 1 ? { kind: "elsewhere", server: "server-b" } : { kind: "run" },
      ),
    );
    const answers = refs.map((ref) => ({
      id: ref.id,
      response: { type: MessageType.Response, seq: ref.seq, body: `${ref.id} ${ref.seq}` } as ResponseMessage,
      runner: SERVER,
    }));
    before = await scriptCalls();
    const kept = await backend.complete(answers, 5000);
    expect((await scriptCalls()) - before).toBe(3);
    expect(kept).toEqual(refs.map((ref) => (ref.id === other && ref.seq === 1 ? "refused" : "kept")));
    const ref = refs[1234] as { id: string; seq: number };
    expect(await backend.admit([ref], "server-b")).toEqual([
      {
        kind: "answered",
        response: { type: MessageType.Response, seq: ref.seq, body: `${ref.id} ${ref.seq}` },
      },
    ]);
  });

  /** Script calls Redis has run so far, by EVALSHA or EVAL (INFO commandstats). */
  async function scriptCalls(): Promise<number> {
    const stats = await redis.probe.info("commandstats");
    const calls = [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)];
    return calls.reduce((sum, [, count]) => sum + Number(count), 0);
  }

  it("reads an answer kept as a message object, as earlier versions kept them", async () => {
    const response: ResponseMessage = { type: MessageType.Response, seq: 3, body: "from before" };
    await redis.probe.hset(`${prefix}r:${id}`, "3", new Packr({ useRecords: false }).pack(response));
    expect((await backend.read(id, 0))?.responses).toEqual([response]);
    expect(await backend.admit([{ id, seq: 3 }], SERVER)).toEqual([{ kind: "answered", response }]);
  });
});
