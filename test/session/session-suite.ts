import {
  AbortError,
  type ChannelHandler,
  type ClientOptions,
  type Clock,
  CloseCode,
  type Connection,
  createClient,
  createServer,
  ManualClock,
  MessageType,
  type ServerOptions,
  type ServerSession,
  type ServerSessionEndReason,
  SessionExpiredError,
  systemClock,
  type TetherClient,
  type TetherServer,
  TimeoutError,
  type Transport,
} from "@tether/core";
import { createMemoryNetwork, type MemoryNetwork } from "@tether/transport-memory";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RawSession } from "../support/raw-session.js";

/** One transport's environment for the session suite. */
export interface SessionEnv {
  clock: Clock;
  /** ManualClock runs assert exact times; real-time runs allow `slack` ms. */
  manual: boolean;
  slack: number;
  tickTime: number;
  /** The session timeout T the tests request (inside the server's bounds). */
  timeout: number;
  transport(): Transport;
  listenAddress(): string;
  /** Lets `ms` pass: ManualClock steps, or real sleep. */
  advance(ms: number): Promise<void>;
  /** Capability: the memory network, for pulled-cable faults. */
  network?: MemoryNetwork;
  /** Server options of this run (a session store, say). */
  serverOptions?: () => ServerOptions;
  /**
   * How much later than (T, T + tickTime] the store may expire a session: a shared store waits
   * one more tick for touches batched in other servers. Default 0.
   */
  expiryLag?: number;
  /** The store ends a closed session only after a round trip (not within the same call). */
  asyncStore?: boolean;
  teardown?(): Promise<void>;
}

/** Real sockets on the real clock: short timeouts (T = 240 ms, tick 25 ms) and 30 ms of slack. */
export function realTimeEnv(transport: () => Transport): SessionEnv {
  return {
    clock: systemClock,
    manual: false,
    slack: 30,
    tickTime: 25,
    timeout: 240,
    transport,
    listenAddress: () => "127.0.0.1:0",
    advance: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
}

let memoryServers = 0;

/** The memory network on a ManualClock (T = 6 s, tick 1 s): exact times, no slack. */
export function manualMemoryEnv(start = 0): SessionEnv & { clock: ManualClock } {
  const clock = new ManualClock(start);
  const network = createMemoryNetwork({ clock });
  return {
    clock,
    manual: true,
    slack: 0,
    tickTime: 1000,
    timeout: 6000,
    network,
    transport: () => network.transport(),
    listenAddress: () => `server-${++memoryServers}`,
    advance: (ms) => clock.advanceAsync(ms),
  };
}

export interface SessionTarget {
  name: string;
  setup(): Promise<SessionEnv> | SessionEnv;
}

/** A server pipeline handler that records what clients send, and can swallow everything. */
class Wiretap implements ChannelHandler {
  readonly messages: Array<{ type: number; at: number }> = [];
  readonly connections: Connection[] = [];
  /** While true, frames vanish in both directions at the server: a black-hole on any transport. */
  closed = false;
  constructor(private readonly clock: Clock) {}
  channelActive(ctx: Parameters<NonNullable<ChannelHandler["channelActive"]>>[0]): void {
    this.connections.push(ctx.channel.connection);
    ctx.fireActive();
  }
  channelRead(ctx: Parameters<NonNullable<ChannelHandler["channelRead"]>>[0], message: unknown): void {
    if (this.closed) return;
    if (Array.isArray(message)) this.messages.push({ type: message[0] as number, at: this.clock.now() });
    ctx.fireRead(message);
  }
  write(ctx: Parameters<NonNullable<ChannelHandler["write"]>>[0], message: unknown): void {
    if (!this.closed) ctx.write(message);
  }
  count(type: number): number {
    return this.messages.filter((m) => m.type === type).length;
  }
}

export function describeSessionSuite(target: SessionTarget): void {
  describe(`${target.name}: session protocol`, () => {
    let env: SessionEnv;
    let server: TetherServer;
    let tap: Wiretap;
    let address: string;
    let clients: TetherClient[];
    let raws: RawSession[];
    let ended: Array<{ id: string; reason: ServerSessionEndReason; at: number }>;

    beforeEach(async () => {
      env = await target.setup();
      clients = [];
      raws = [];
      ended = [];
    });

    afterEach(async () => {
      env.network?.heal();
      for (const raw of raws) raw.connection.abort();
      // Graceful closes may wait on the clock (close timeouts): keep time moving, bounded.
      let finished = false;
      const done = Promise.all([...clients.map((c) => c.close()), server?.close()]).finally(() => {
        finished = true;
      });
      for (let i = 0; i < 400 && !finished; i++) await env.advance(env.tickTime);
      await done;
      await env.teardown?.();
    });

    async function start(options: ServerOptions = {}): Promise<void> {
      tap = new Wiretap(env.clock);
      server = createServer({
        clock: env.clock,
        tickTime: env.tickTime,
        ...env.serverOptions?.(),
        ...options,
        configurePipeline: (pipeline) => pipeline.addAfter("codec", "tap", tap),
      });
      server.on("expire", (session, reason) => ended.push({ id: session.id, reason, at: env.clock.now() }));
      address = (await server.listen(env.transport(), env.listenAddress())).address;
    }

    function client(options: Partial<ClientOptions> = {}): TetherClient {
      const c = createClient({
        servers: [{ transport: env.transport(), address }],
        timeout: env.timeout,
        clock: env.clock,
        backoff: { initial: env.tickTime / 4, max: env.tickTime },
        ...options,
      });
      clients.push(c);
      return c;
    }

    async function until(condition: () => boolean, withinMs: number): Promise<boolean> {
      const step = Math.max(1, Math.min(env.tickTime / 10, 10));
      for (let waited = 0; waited <= withinMs; waited += step) {
        if (condition()) return true;
        await env.advance(step);
      }
      return condition();
    }

    async function connected(c: TetherClient): Promise<void> {
      expect(await until(() => c.state === "connected", env.timeout)).toBe(true);
    }

    async function raw(): Promise<RawSession> {
      const r = await RawSession.dial(env.transport(), address);
      raws.push(r);
      return r;
    }

    const onlySession = (): ServerSession => [...server.sessions()][0] as ServerSession;

    it("negotiates the timeout in the handshake", async () => {
      await start({ maxSessionTimeout: env.timeout });
      const c = client({ timeout: env.timeout * 10 });
      await connected(c);
      expect(c.sessionTimeout).toBe(env.timeout);
      expect(onlySession().id).toBe(c.sessionId);
      expect(onlySession().timeout).toBe(env.timeout);
    });

    it("pings every T/3 while idle, and a busy client sends no pings", async () => {
      await start();
      const c = client();
      await connected(c);
      const T = env.timeout;
      await env.advance(2 * T);
      const pings = tap.messages.filter((m) => m.type === MessageType.Ping).map((m) => m.at);
      if (env.manual) {
        const gaps = pings.slice(1).map((at, i) => at - (pings[i] as number));
        expect(pings.length).toBe(6);
        for (const gap of gaps) expect(gap).toBeCloseTo(T / 3, 6);
      } else {
        expect(pings.length).toBeGreaterThanOrEqual(4);
        expect(pings.length).toBeLessThanOrEqual(7);
      }
      server.handle("noop", () => null);
      const before = tap.count(MessageType.Ping);
      for (let i = 0; i < 12; i++) {
        await c.request("noop");
        await env.advance(T / 6);
      }
      expect(tap.count(MessageType.Ping) - before).toBe(0);
    });

    it("expires a silent session inside (T, T + tickTime] after its last frame", async () => {
      await start();
      const r = await raw();
      const sentAt = env.clock.now();
      r.hello({ timeout: env.timeout });
      await r.waitFor(
        (m) => m[0] === MessageType.Welcome,
        () => env.advance(1),
      );
      expect(await until(() => ended.length === 1, 2 * env.timeout)).toBe(true);
      const elapsed = (ended[0]?.at as number) - sentAt;
      expect(elapsed).toBeGreaterThan(env.timeout - env.slack);
      expect(elapsed).toBeLessThanOrEqual(env.timeout + env.tickTime + (env.expiryLag ?? 0) + env.slack);
      expect(ended[0]?.reason).toBe("expired");
      expect(await until(() => r.goodbyeCode() !== undefined, env.tickTime)).toBe(true);
      expect(r.goodbyeCode()).toBe(CloseCode.SessionExpired);
    });

    it("keeps the session id and replays missed pushes, in order and once, on resume", async () => {
      await start();
      const c = client();
      const pushes: unknown[] = [];
      c.on("push", (topic, body) => pushes.push(`${topic}:${String(body)}`));
      await connected(c);
      const id = c.sessionId;
      const session = onlySession();
      session.push("n", 1);
      expect(await until(() => pushes.length === 1, env.timeout)).toBe(true);
      const states: string[] = [];
      c.on("state", (s) => states.push(s));
      tap.connections.at(-1)?.abort();
      for (let i = 2; i <= 4; i++) session.push("n", i);
      expect(await until(() => pushes.length === 4 && c.state === "connected", env.timeout)).toBe(true);
      expect(c.sessionId).toBe(id);
      expect(states).toEqual(["disconnected", "connected"]);
      expect(pushes).toEqual(["n:1", "n:2", "n:3", "n:4"]);
      session.push("n", 5);
      await until(() => pushes.length === 5, env.timeout);
      expect(pushes).toEqual(["n:1", "n:2", "n:3", "n:4", "n:5"]);
    });

    it("answers a resume after expiry with expired and fails pending requests", async () => {
      await start();
      server.handle("slow", () => new Promise(() => {}));
      const c = client({ clientExpiry: false });
      await connected(c);
      tap.closed = true; // from now on nothing gets through, both ways
      const pending = c.request("never-answered").catch((error: unknown) => error);
      expect(await until(() => ended.length === 1, 2 * env.timeout)).toBe(true);
      tap.closed = false;
      expect(await until(() => c.state === "expired", 2 * env.timeout)).toBe(true);
      expect(await pending).toBeInstanceOf(SessionExpiredError);
      await expect(c.request("anything")).rejects.toBeInstanceOf(SessionExpiredError);
    });

    it("refuses a wrong password without disturbing the live connection", async () => {
      await start();
      server.handle("echo", (body) => body);
      const c = client();
      await connected(c);
      const states: string[] = [];
      c.on("state", (s) => states.push(s));
      for (let i = 0; i < 5; i++) {
        const r = await raw();
        r.hello({ sessionId: c.sessionId as string, password: new Uint8Array(16).fill(i) });
        await r.waitFor(
          (m) => m[0] === MessageType.Goodbye,
          () => env.advance(1),
        );
        expect(r.goodbyeCode()).toBe(CloseCode.SessionExpired);
      }
      expect(await c.request("echo", "still mine")).toBe("still mine");
      expect(states).toEqual([]);
      expect(onlySession().connected).toBe(true);
    });

    it("lets a second connection with the password take the session over, closing the first", async () => {
      await start();
      const c = client();
      await connected(c);
      const session = onlySession();
      const states: string[] = [];
      c.on("state", (s) => states.push(s));
      const r = await raw();
      r.hello({ sessionId: session.id, password: session.tracked.password });
      const welcome = await r.waitFor(
        (m) => m[0] === MessageType.Welcome,
        () => env.advance(1),
      );
      expect(welcome[1]).toBe(session.id);
      expect(welcome[4]).toBe(true);
      expect(await until(() => states.includes("disconnected"), env.timeout)).toBe(true);
    });

    it("runs expire listeners at once on an explicit close", async () => {
      await start();
      const c = client();
      await connected(c);
      const id = c.sessionId;
      const before = env.clock.now();
      await c.close();
      expect(c.state).toBe("closed");
      expect(await until(() => ended.length === 1, env.slack)).toBe(true);
      expect(ended[0]).toMatchObject({ id, reason: "closed" });
      if (env.manual && !env.asyncStore) expect(ended[0]?.at).toBe(before);
    });

    it("gives each request in flight across a disconnect exactly one outcome, each run once", async () => {
      await start();
      const runs = new Map<number, number>();
      server.handle("work", (body) => {
        const n = body as number;
        runs.set(n, (runs.get(n) ?? 0) + 1);
        return new Promise((resolve) => env.clock.setTimeout(() => resolve(n * 2), env.timeout / 10));
      });
      const c = client();
      await connected(c);
      const outcomes = new Map<number, unknown[]>();
      const record = (n: number, outcome: unknown) => outcomes.set(n, [...(outcomes.get(n) ?? []), outcome]);
      const controller = new AbortController();
      const requests = [...Array(20).keys()].map((n) =>
        c.request("work", n, n === 7 ? { signal: controller.signal } : {}).then(
          (value) => record(n, value),
          (error: unknown) => record(n, error),
        ),
      );
      controller.abort();
      await env.advance(1);
      tap.connections.at(-1)?.abort();
      await until(() => outcomes.size === 20, 2 * env.timeout);
      await Promise.all(requests);
      for (let n = 0; n < 20; n++) {
        const got = outcomes.get(n) ?? [];
        expect(got).toHaveLength(1);
        if (n === 7) expect(got[0]).toBeInstanceOf(AbortError);
        else expect(got[0]).toBe(n * 2);
      }
      for (const [n, count] of runs) expect([n, count]).toEqual([n, 1]);
      expect(c.pendingRequests).toBe(0);
    });

    it("answers a request re-sent after a resume from the session, or runs it again if its op is idempotent", async () => {
      await start();
      const runs = { once: 0, idempotent: 0 };
      server.handle("once", () => ++runs.once);
      server.handle("idempotent", () => ++runs.idempotent, { idempotent: true });
      const isAnswer = (seq: number) => (m: unknown[]) => m[0] === MessageType.Response && m[1] === seq;
      const first = await raw();
      first.hello({ timeout: env.timeout });
      const welcome = await first.waitFor(
        (m) => m[0] === MessageType.Welcome,
        () => env.advance(1),
      );
      const [, sessionId, password] = welcome as [number, string, Uint8Array];
      // Request [5, seq, op, body, pushAck, responseAck]: responseAck 1 acknowledges no answer.
      // One after the other: an idempotent request sent while an earlier one waits for a shared
      // store's decision goes through the store too, and its answer is kept there.
      const sendBoth = async (r: RawSession) => {
        r.send([MessageType.Request, 1, "once", null, 0, 1]);
        const once = await r.waitFor(isAnswer(1), () => env.advance(1));
        r.send([MessageType.Request, 2, "idempotent", null, 0, 1]);
        const idempotent = await r.waitFor(isAnswer(2), () => env.advance(1));
        return [once[2], idempotent[2]];
      };
      expect(await sendBoth(first)).toEqual([1, 1]);
      // The answers were lost with the connection: the client resumes and sends both again.
      first.connection.abort();
      const second = await raw();
      second.hello({ sessionId, password, timeout: env.timeout });
      await second.waitFor(
        (m) => m[0] === MessageType.Welcome,
        () => env.advance(1),
      );
      expect(await sendBoth(second)).toEqual([1, 2]);
      expect(runs).toEqual({ once: 1, idempotent: 2 });
    });

    it("times a request out on the caller's deadline", async () => {
      await start();
      server.handle("hang", () => new Promise(() => {}));
      const c = client();
      await connected(c);
      const result = c.request("hang", null, { timeout: env.timeout / 4 }).catch((e: unknown) => e);
      await env.advance(env.timeout / 2);
      expect(await result).toBeInstanceOf(TimeoutError);
    });

    it.runIf(target.name.startsWith("memory"))(
      "a black-holed link: the client is disconnected within readTimeout, the server expires within T + tickTime",
      async () => {
        await start();
        const c = client();
        await connected(c);
        await env.advance(env.timeout / 2);
        const network = env.network as MemoryNetwork;
        const cutAt = env.clock.now();
        let disconnectedAt = -1;
        c.on("state", (s) => {
          if (s === "disconnected" && disconnectedAt < 0) disconnectedAt = env.clock.now();
        });
        network.partition(address);
        expect(await until(() => ended.length === 1 && c.state === "expired", 2 * env.timeout)).toBe(true);
        expect(disconnectedAt - cutAt).toBeLessThanOrEqual((2 * env.timeout) / 3);
        expect(disconnectedAt).toBeGreaterThan(cutAt);
        expect((ended[0]?.at as number) - cutAt).toBeLessThanOrEqual(
          env.timeout + env.tickTime + (env.expiryLag ?? 0),
        );
        expect(ended[0]?.reason).toBe("expired");
      },
    );
  });
}
