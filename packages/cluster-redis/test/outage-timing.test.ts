// What clients see, in real time, while Redis is frozen (SIGSTOP): the cluster guide's outage
// table. ioredis's commandTimeout runs on real timers, so these tests do too, with short waits.
import { redisSessionStore } from "@tether/cluster-redis";
import {
  type ClientState,
  ConnectionEndedError,
  createClient,
  createServer,
  silentLogger,
  type TetherClient,
  type TetherServer,
} from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { afterEach, describe, expect, it } from "vitest";
import { redisForTests } from "../../../test/support/redis-for-tests.js";

const redis = redisForTests();
const COMMAND_TIMEOUT = 300;
let servers = 0;
const open: { clients: TetherClient[]; servers: TetherServer[] } = { clients: [], servers: [] };

afterEach(async () => {
  redis.server.resume();
  for (const client of open.clients.splice(0)) await client.close().catch(() => {});
  for (const server of open.servers.splice(0)) await server.close();
});

async function startServer(options: { commandTimeout?: number; handshakeTimeout?: number }) {
  const { commandTimeout, handshakeTimeout } = options;
  const server = createServer({
    logger: silentLogger,
    tickTime: 200,
    ...(handshakeTimeout === undefined ? {} : { handshakeTimeout }),
    sessionStore: redisSessionStore({
      redis: { ...redis.server.connection, ...(commandTimeout === undefined ? {} : { commandTimeout }) },
      prefix: `outage${++servers}:`,
    }),
  });
  server.handle("echo", (body) => body);
  open.servers.push(server);
  const listener = await server.listen(tcp(), "127.0.0.1:0");
  await (server.store as { ready?: Promise<void> }).ready;
  return listener.address;
}

function client(address: string): TetherClient {
  const c = createClient({ servers: [{ transport: tcp(), address }], timeout: 30_000 });
  open.clients.push(c);
  return c;
}

/** Milliseconds from now until `client` reports a failed attempt, and that attempt's error. */
function nextConnectError(c: TetherClient): Promise<[number, Error]> {
  const start = performance.now();
  return new Promise((resolve) =>
    c.once("connectError", (error) => resolve([performance.now() - start, error])),
  );
}

function nextState(c: TetherClient, state: ClientState): Promise<[number, unknown]> {
  const start = performance.now();
  return new Promise((resolve) => {
    const listener = (now: ClientState, _previous: ClientState, cause: { error?: unknown }) => {
      if (now !== state) return;
      c.off("state", listener);
      resolve([performance.now() - start, cause.error]);
    };
    c.on("state", listener);
  });
}

describe("a frozen Redis, in real time", () => {
  it("answers a handshake with 4007 once commandTimeout passes, not a multiple of it", async () => {
    const address = await startServer({ commandTimeout: COMMAND_TIMEOUT });
    redis.server.pause();
    const c = client(address);
    const [after, error] = await nextConnectError(c);
    expect(error).toBeInstanceOf(ConnectionEndedError);
    expect((error as ConnectionEndedError).code).toBe(4007);
    expect(after).toBeGreaterThanOrEqual(COMMAND_TIMEOUT - 20);
    expect(after).toBeLessThan(COMMAND_TIMEOUT + 250);
    redis.server.resume();
    await c.connected();
  });

  it("ends a connection whose request cannot be admitted with 4007 after commandTimeout; the request is answered once Redis is back", async () => {
    const address = await startServer({ commandTimeout: COMMAND_TIMEOUT });
    const c = client(address);
    await c.connected();
    const id = c.sessionId;
    redis.server.pause();
    const disconnected = nextState(c, "disconnected");
    const answer = c.request("echo", "made while frozen");
    const [after, error] = await disconnected;
    expect((error as ConnectionEndedError).code).toBe(4007);
    expect(after).toBeGreaterThanOrEqual(COMMAND_TIMEOUT - 20);
    expect(after).toBeLessThan(COMMAND_TIMEOUT + 250);
    redis.server.resume();
    await expect(answer).resolves.toBe("made while frozen");
    expect(c.sessionId).toBe(id);
  });

  it("without commandTimeout, lets a handshake wait until handshakeTimeout (4005)", async () => {
    const address = await startServer({ handshakeTimeout: 600 });
    redis.server.pause();
    const c = client(address);
    const [after, error] = await nextConnectError(c);
    // The client gives up on an attempt after T/n (here 30 s): the server's deadline comes first.
    expect((error as ConnectionEndedError).code).toBe(4005);
    expect(after).toBeGreaterThanOrEqual(600 - 20);
    expect(after).toBeLessThan(600 + 250);
  });
});
