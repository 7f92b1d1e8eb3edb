// Frame limits are announced in the handshake and checked by the sender (docs/PROTOCOL.md,
// "Frame limits"): one oversized message fails on its own and never costs the session.
import {
  createClient,
  createServer,
  FrameTooLargeError,
  ManualClock,
  RequestError,
  type TetherClient,
} from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { afterEach, describe, expect, it } from "vitest";
import { closeOnClock } from "../support/close-on-clock.js";

const KiB = 1024;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setUp(limits: { client?: number; server?: number }) {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server = createServer({ clock, tickTime: 500 });
  server.on("error", () => {});
  server.handle("echo", (body) => body);
  server.handle("big", (size) => new Uint8Array(size as number));
  await server.listen(network.transport(limits.server ? { maxFrameBytes: limits.server } : {}), "server");
  const client = createClient({
    servers: [
      {
        transport: network.transport(limits.client ? { maxFrameBytes: limits.client } : {}),
        address: "server",
      },
    ],
    clock,
    timeout: 6000,
  });
  const states: string[] = [];
  client.on("state", (state) => states.push(state));
  closers.push(() => closeOnClock(clock, client, server));
  const settle = async <T>(promise: Promise<T>): Promise<T> => {
    for (let i = 0; i < 20; i++) await clock.advanceAsync(10);
    return promise;
  };
  await settle(client.connected());
  return { clock, server, client, states, settle };
}

function outcome(client: TetherClient, op: string, body: unknown) {
  return client.request(op, body).catch((error: unknown) => error);
}

describe("frame limits", () => {
  it("an answer over the client's limit becomes answer-too-large, and the session goes on", async () => {
    const { client, states, settle, server } = await setUp({ client: 64 * KiB });
    const sessionId = client.sessionId;
    const result = await settle(outcome(client, "big", 100 * KiB));
    expect(result).toBeInstanceOf(RequestError);
    expect((result as RequestError).code).toBe("answer-too-large");
    expect(await settle(client.request("big", 60 * KiB))).toHaveLength(60 * KiB);
    expect(states).toEqual(["connected"]); // never dropped, never resumed
    expect(client.sessionId).toBe(sessionId);
    expect(server.metrics().sessionsResumed).toBe(0);
  });

  it("a push over the client's limit throws at push() and nothing is kept", async () => {
    const { server, client, states, settle } = await setUp({ client: 64 * KiB });
    const session = server.getSession(client.sessionId as string);
    expect(() => session?.push("blob", new Uint8Array(100 * KiB))).toThrow(FrameTooLargeError);
    expect(session?.unacknowledgedPushes).toBe(0);
    const pushes: unknown[] = [];
    client.on("push", (topic) => pushes.push(topic));
    session?.push("small", new Uint8Array(10));
    await settle(Promise.resolve());
    expect(pushes).toEqual(["small"]);
    expect(states).toEqual(["connected"]);
  });

  it("a request over the server's limit fails at once with FrameTooLargeError and nothing is sent", async () => {
    const { server, client, states, settle } = await setUp({ server: 64 * KiB });
    const before = server.metrics().requests;
    const result = await settle(outcome(client, "echo", new Uint8Array(100 * KiB)));
    expect(result).toBeInstanceOf(FrameTooLargeError);
    expect(server.metrics().requests).toBe(before);
    expect(await settle(client.request("echo", "still here"))).toBe("still here");
    expect(states).toEqual(["connected"]);
  });
});
