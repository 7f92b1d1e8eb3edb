// What a user sees when something goes wrong: errors reach stderr unless a logger was chosen,
// a throwing listener never crashes the process, and a client that cannot connect says why.
import {
  CloseCode,
  createClient,
  createServer,
  DialError,
  encodeFrame,
  type Logger,
  ManualClock,
  MessageType,
  RequestError,
  silentLogger,
  TimeoutError,
  type Transport,
} from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { afterEach, describe, expect, it, vi } from "vitest";
import { closeOnClock } from "../support/close-on-clock.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0)) await close();
});

async function settle(clock: ManualClock, ms = 200) {
  for (let i = 0; i < ms / 10; i++) await clock.advanceAsync(10);
}

/** A request to a handler that throws a TypeError, on a server with `options`; its outcome. */
async function requestABrokenHandler(options: { logger?: Logger }): Promise<unknown> {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server = createServer({ clock, tickTime: 500, ...options });
  server.on("error", () => {});
  server.handle("broken", () => (undefined as unknown as { x: number }).x);
  await server.listen(network.transport(), "s");
  const client = createClient({
    servers: [{ transport: network.transport(), address: "s" }],
    clock,
    timeout: 3000,
  });
  closers.push(() => closeOnClock(clock, client, server));
  const outcome = client.request("broken").catch((error: unknown) => error);
  await settle(clock);
  return outcome;
}

describe("errors are not silent by default", () => {
  it("a request handler's TypeError reaches stderr with no logger configured", async () => {
    const written = vi.spyOn(console, "error").mockImplementation(() => {});
    const outcome = await requestABrokenHandler({});
    expect(outcome).toMatchObject({ code: "handler-failed" });
    const lines = written.mock.calls.map((call) => call.map(String).join(" "));
    expect(lines.some((line) => line.includes("request handler failed") && line.includes("TypeError"))).toBe(
      true,
    );
  });

  it("says nothing when the user chose silence", async () => {
    const written = vi.spyOn(console, "error").mockImplementation(() => {});
    const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
    await requestABrokenHandler({ logger: silentLogger });
    expect(written).not.toHaveBeenCalled();
    expect(warned).not.toHaveBeenCalled();
  });
});

describe("listeners that throw", () => {
  it("a state or push listener that throws is logged, and the client goes on", async () => {
    const errors: unknown[] = [];
    const logger: Logger = { ...silentLogger, error: (object) => errors.push(object) };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    closers.push(async () => {
      process.off("unhandledRejection", onUnhandled);
    });
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    const server = createServer({ clock, tickTime: 500, logger: silentLogger });
    server.handle("push-me", (_body, { session }) => {
      session.push("news", 1);
      return "ok";
    });
    await server.listen(network.transport(), "s");
    const client = createClient({
      servers: [{ transport: network.transport(), address: "s" }],
      clock,
      timeout: 3000,
      logger,
    });
    closers.push(() => closeOnClock(clock, client, server));
    const pushes: unknown[] = [];
    client.on("state", () => {
      throw new Error("a bug in a state listener");
    });
    client.on("push", (_topic, body) => pushes.push(body));
    client.on("push", () => {
      throw new Error("a bug in a push listener");
    });
    await settle(clock);
    expect(client.state).toBe("connected");
    const answer = client.request("push-me");
    await settle(clock);
    expect(await answer).toBe("ok");
    expect(pushes).toEqual([1]);
    expect(client.state).toBe("connected"); // and the connection was not dropped for it
    expect(unhandled).toEqual([]);
    expect(errors.length).toBeGreaterThanOrEqual(2);
  });
});

/** A client of an address nobody listens on, closed after the test. */
function clientOfNobody() {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const client = createClient({
    servers: [{ transport: network.transport(), address: "nobody" }],
    clock,
    timeout: 3000,
    logger: silentLogger,
  });
  closers.push(() => closeOnClock(clock, client));
  return { clock, client };
}

describe("why a client cannot connect", () => {
  it("a dead server: each failed attempt is a connectError event, and connected() times out", async () => {
    const { clock, client } = clientOfNobody();
    const failures: Error[] = [];
    client.on("connectError", (error) => failures.push(error));
    const waiting = client.connected({ timeout: 1000 }).catch((error: unknown) => error);
    await settle(clock, 1200);
    const outcome = await waiting;
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toBeInstanceOf(DialError);
    expect(client.state).toBe("connecting");
  });

  it("connected() takes a signal", async () => {
    const { client } = clientOfNobody();
    const controller = new AbortController();
    const waiting = client.connected({ signal: controller.signal }).catch((error: unknown) => error);
    controller.abort();
    expect(await waiting).toMatchObject({ name: "AbortError" });
  });

  it("state events carry the reason: a Goodbye's code on refusal, the error on disconnect", async () => {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    // A server that refuses every Hello with Goodbye 4010 (too many connections), then closes.
    const refusing: Transport = network.transport();
    await refusing.listen("full", (connection) => {
      connection.on("frame", () => {
        connection.send(encodeFrame([MessageType.Goodbye, CloseCode.TooManyConnections, "full"]));
        void connection.close();
      });
    });
    const client = createClient({
      servers: [{ transport: network.transport(), address: "full" }],
      clock,
      timeout: 3000,
      logger: silentLogger,
    });
    closers.push(() => closeOnClock(clock, client));
    const failures: Error[] = [];
    client.on("connectError", (error) => failures.push(error));
    await settle(clock, 300);
    expect(failures[0]).toMatchObject({ code: CloseCode.TooManyConnections });

    const server = createServer({ clock, tickTime: 500, logger: silentLogger });
    await server.listen(network.transport(), "s");
    const other = createClient({
      servers: [{ transport: network.transport(), address: "s" }],
      clock,
      timeout: 3000,
      logger: silentLogger,
    });
    closers.push(() => closeOnClock(clock, other, server));
    const causes: Array<{ state: string; error?: Error | undefined }> = [];
    other.on("state", (state, _previous, cause) => causes.push({ state, error: cause.error }));
    await settle(clock);
    for (const link of network.links()) link.reset(new Error("cable cut"));
    await settle(clock, 50);
    const disconnected = causes.find((c) => c.state === "disconnected");
    expect(disconnected?.error).toBeInstanceOf(Error);
  });
});

describe("client metrics", () => {
  it("counts requests by outcome, their latency, reconnects and the time spent in each state", async () => {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    const server = createServer({ clock, tickTime: 500, logger: silentLogger });
    server.handle("slow", () => new Promise((resolve) => clock.setTimeout(() => resolve("done"), 40)));
    server.handle("refuse", () => {
      throw new RequestError("no", "refused");
    });
    await server.listen(network.transport(), "s");
    const client = createClient({
      servers: [{ transport: network.transport(), address: "s" }],
      clock,
      timeout: 3000,
      logger: silentLogger,
    });
    closers.push(() => closeOnClock(clock, client, server));
    await settle(clock, 100);
    const answered = client.request("slow");
    const refused = client.request("refuse").catch(() => {});
    const abandoned = client.request("slow", null, { timeout: 10 }).catch(() => {});
    await settle(clock, 200);
    await Promise.all([answered, refused, abandoned]);
    for (const link of network.links()) link.reset(new Error("cable cut"));
    await settle(clock, 300);
    expect(client.state).toBe("connected");
    const m = client.metrics();
    expect(m.requests).toBe(3);
    expect(m.responses).toBe(1);
    expect(m.errorResponses).toBe(1);
    expect(m.abandoned).toBe(1);
    expect(m.reconnects).toBe(1);
    expect(m.requestLatency.count).toBe(2); // the answered and the refused: both heard back
    expect(m.requestLatency.buckets.find((b) => b.le === 50)?.count).toBe(2);
    expect(m.timeInState.connected).toBeGreaterThan(400);
    expect(m.timeInState.expired).toBe(0);
    const total = Object.values(m.timeInState).reduce((a, b) => a + b, 0);
    expect(total).toBe(clock.now());
  });
});
