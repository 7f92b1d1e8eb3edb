// Everything Tether sends decodes with an independent MessagePack implementation
// (@msgpack/msgpack) to plain values: no extension types, safe integers as integers.
import { decode, ExtData } from "@msgpack/msgpack";
import {
  createClient,
  createServer,
  ManualClock,
  RequestError,
  type TetherServer,
  UnencodableValueError,
} from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { afterEach, describe, expect, it } from "vitest";
import { closeOnClock } from "../support/close-on-clock.js";

/** Values handlers typically return, including the ones msgpackr would send as extensions or floats. */
const typical = {
  text: "héllo",
  count: 42,
  negative: -7,
  ratio: 0.25,
  large: 2 ** 40,
  largeNegative: -(2 ** 40),
  maxSafe: Number.MAX_SAFE_INTEGER,
  small: 5n,
  big: 2n ** 62n,
  missing: undefined,
  none: null,
  yes: true,
  bytes: new Uint8Array([1, 2, 3]),
  buffer: Buffer.from("abc"),
  list: [1, "two", [3], { four: 4 }],
  nested: { a: { b: { c: [] } } },
};

/** Walks a decoded value; anything but plain data (an extension, a Date) is reported. */
function nonPlain(value: unknown, path = "$"): string[] {
  if (value instanceof ExtData) return [`${path}: extension type ${value.type}`];
  if (value instanceof Date) return [`${path}: timestamp`];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonPlain(v, `${path}[${i}]`));
  if (value instanceof Uint8Array || value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => nonPlain(v, `${path}.${k}`));
}

let server: TetherServer;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setUp() {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const sent: Uint8Array[] = []; // server → client frames
  const received: Uint8Array[] = []; // client → server frames
  const logged: string[] = [];
  const log = (level: string) => (_obj: unknown, msg?: string) => logged.push(`${level}: ${msg}`);
  server = createServer({
    clock,
    tickTime: 1000,
    logger: {
      trace() {},
      debug() {},
      info() {},
      warn: log("warn"),
      error: log("error"),
      fatal: log("fatal"),
      child() {
        return this;
      },
    } as never,
    configurePipeline: (pipeline) => {
      pipeline.addFirst("tap", {
        channelRead(ctx, frame) {
          received.push(frame as Uint8Array);
          ctx.fireRead(frame);
        },
        write(ctx, frame) {
          sent.push(frame as Uint8Array);
          ctx.write(frame);
        },
      });
    },
  });
  server.on("error", () => {});
  await server.listen(network.transport(), "server");
  const client = createClient({
    servers: [{ transport: network.transport(), address: "server" }],
    clock,
    timeout: 10_000,
  });
  closers.push(() => closeOnClock(clock, client, server));
  const settle = async <T>(promise: Promise<T>): Promise<T> => {
    for (let i = 0; i < 20; i++) await clock.advanceAsync(0);
    return promise;
  };
  return { client, sent, received, logged, settle };
}

const decodeAll = (frames: Uint8Array[]) => frames.map((frame) => decode(frame, { useBigInt64: true }));

describe("wire format", () => {
  it("what the server and client send decodes to plain values, integers as integers", async () => {
    const { client, sent, received, settle } = await setUp();
    server.handle("typical", () => typical);
    server.on("session", (session) => session.push("typical", typical));
    const echoed = await settle(client.request("typical", typical));
    expect(echoed).toMatchObject({ large: 2 ** 40, small: 5, big: 2n ** 62n, missing: null });

    const messages = [...decodeAll(sent), ...decodeAll(received)];
    expect(messages.flatMap((m) => nonPlain(m))).toEqual([]);
    // With useBigInt64, @msgpack/msgpack turns int64/uint64 into BigInt and leaves floats as numbers:
    // 2^40 must have gone as an integer, both ways.
    const withLarge = [...decodeAll(sent), ...decodeAll(received)]
      .flat(2)
      .filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null && "large" in v);
    expect(withLarge.length).toBeGreaterThanOrEqual(3); // the request, the answer and the push
    for (const body of withLarge) {
      expect(body.large).toBe(2n ** 40n);
      expect(body.largeNegative).toBe(-(2n ** 40n));
      expect(body.ratio).toBe(0.25);
      expect(body.missing).toBe(null);
    }
  });

  it("text with a lone surrogate goes as valid UTF-8 (U+FFFD in its place), whatever the message's shape", async () => {
    const { client, settle } = await setUp();
    // WTF-8 (ED A0 80 for U+D800) is refused by strict UTF-8 decoders, and reads as three U+FFFD.
    server.handle("lone", () => ({
      nested: { text: "a\ud800b" },
      list: ["\udc00", `${"x".repeat(80)}\ud83d`],
    }));
    server.handle("flat", () => "a\ud800b");
    server.handle("echo", (body) => body);
    expect(await settle(client.request("lone"))).toEqual({
      nested: { text: "a\ufffdb" },
      list: ["\ufffd", `${"x".repeat(80)}\ufffd`],
    });
    expect(await settle(client.request("flat"))).toBe("a\ufffdb");
    // The client's side too: the request body is written the same way.
    expect(await settle(client.request("echo", { text: "\ud800" }))).toEqual({ text: "\ufffd" });
  });

  it("an answer the codec cannot encode becomes an unencodable-answer error and a log line", async () => {
    const { client, logged, settle } = await setUp();
    server.handle("date", () => ({ at: new Date(0) }));
    server.handle("huge", () => 2n ** 70n);
    for (const op of ["date", "huge"]) {
      const outcome = await settle(client.request(op).catch((error: unknown) => error));
      expect(outcome).toBeInstanceOf(RequestError);
      expect((outcome as RequestError).code).toBe("unencodable-answer");
    }
    expect(logged.filter((line) => line.includes("cannot be sent"))).toHaveLength(2);
    // The session is fine afterwards.
    server.handle("ok", () => "ok");
    expect(await settle(client.request("ok"))).toBe("ok");
  });

  it("credentials the codec cannot encode are refused by createClient, not left to a reconnect loop", () => {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    expect(() =>
      createClient({
        servers: [{ transport: network.transport(), address: "server" }],
        clock,
        credentials: { issued: new Date(0) },
      }),
    ).toThrow(UnencodableValueError);
  });

  it("a push the codec cannot encode throws at push(), and a request body fails its own call", async () => {
    const { client, settle } = await setUp();
    server.handle("ok", () => "ok");
    await settle(client.request("ok"));
    const session = [...server.sessions()][0];
    expect(() => session?.push("when", new Date())).toThrow(UnencodableValueError);
    expect(session?.unacknowledgedPushes).toBe(0);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const refused = client.request("ok", cyclic).catch((error: unknown) => error);
    expect(await settle(refused)).toBeInstanceOf(UnencodableValueError);
    expect(await settle(client.request("ok"))).toBe("ok");
  });
});
