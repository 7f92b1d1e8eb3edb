import {
  decodeFrame,
  type ManualClock,
  type ServerSession,
  type ServerSessionEndReason,
  SessionExpiredError,
  type SessionStore,
  type SessionStoreFactory,
  silentLogger,
} from "@tether/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FaultyBackend } from "./faulty-backend.js";

export interface StoreConformanceEnv {
  /** A store factory with a key space of its own (each case starts empty). */
  store(): SessionStoreFactory;
  /** The clock the stores run on. */
  readonly clock: ManualClock;
  /** Moves `clock` by `ms`, letting the backend's real-time work (round trips) run meanwhile. */
  advance(ms: number): Promise<void>;
  /**
   * How much later than T + tick an untouched session may expire: 0 for a store that judges
   * in-process, a tick for one that flushes touches to a shared backend once a tick.
   */
  readonly expiryLag: number;
  /**
   * Capability: the backend stops answering writes for `ms` of real time (a stalled Redis);
   * resolves at once, while the freeze holds.
   */
  freeze?(ms: number): Promise<void>;
  /** Capability: the backend loses everything it holds, as a restart without persistence. */
  wipe?(): Promise<void>;
  /**
   * Capability: the fault wrapper between the store made by `store()` and its backend (a
   * store on a `SessionBackend`), to delay, reorder and lose replies.
   */
  faults?(): FaultyBackend;
  teardown?(): Promise<void>;
}

export interface StoreConformanceTarget {
  name: string;
  setup(): Promise<StoreConformanceEnv> | StoreConformanceEnv;
}

const TICK = 500;
const MIN_TIMEOUT = 2 * TICK;
const MAX_TIMEOUT = 20 * TICK;
const T = 3000;

/**
 * The conformance suite every session store runs: what the session protocol relies on, through
 * the `SessionStore` interface alone. A new backend passes this before it carries a session.
 */
export function describeStoreConformance(target: StoreConformanceTarget): void {
  describe(`${target.name}: session store conformance`, () => {
    let env: StoreConformanceEnv;
    let store: SessionStore;
    let ended: Array<{ id: string; reason: ServerSessionEndReason; at: number }>;

    beforeEach(async () => {
      env = await target.setup();
      store = env.store()({
        clock: env.clock,
        logger: silentLogger,
        tickTime: TICK,
        minSessionTimeout: MIN_TIMEOUT,
        maxSessionTimeout: MAX_TIMEOUT,
        bounds: {
          maxReplay: 64,
          maxReplayBytes: 1 << 20,
          maxResponses: 64,
          maxResponseBytes: 1 << 20,
          maxDataBytes: 1 << 16,
        },
      });
      ended = [];
      store.on("expire", (session, reason) => ended.push({ id: session.id, reason, at: env.clock.now() }));
    });

    afterEach(async () => {
      await store.close();
      await env.teardown?.();
    });

    const open = async (timeout = T, principal: unknown = null): Promise<ServerSession> =>
      await store.open(timeout, principal);

    /** Touches `session` every `every` ms for `ms`, as a client's frames would. */
    const keepAlive = async (session: ServerSession, ms: number, every = T / 4) => {
      for (let spent = 0; spent < ms; spent += every) {
        expect(store.touch(session)).toBe(true);
        await env.advance(every);
      }
    };

    it("opens a session with the timeout clamped into [min, max] and a 16-byte password", async () => {
      const low = await open(1);
      const high = await open(10 * MAX_TIMEOUT);
      const mid = await open(T, { user: "ann" });
      expect([low.timeout, high.timeout, mid.timeout]).toEqual([MIN_TIMEOUT, MAX_TIMEOUT, T]);
      expect(mid.tracked.password.byteLength).toBe(16);
      expect(mid.principal).toEqual({ user: "ann" });
      expect(new Set([low.id, high.id, mid.id]).size).toBe(3);
      expect(store.get(mid.id)).toBe(mid);
      expect([...store.sessions()].map((s) => s.id).sort()).toEqual([low.id, high.id, mid.id].sort());
      expect(store.size).toBe(3);
    });

    it("resumes with the password and with nothing else, giving no oracle", async () => {
      const session = await open();
      const password = session.tracked.password;
      const wrong = new Uint8Array(16).fill(7);
      expect(await store.resume(session.id, wrong)).toBeUndefined();
      expect(await store.resume("no-such-session", password)).toBeUndefined();
      const resumed = await store.resume(session.id, password);
      expect(resumed?.id).toBe(session.id);
      expect(ended).toEqual([]);
    });

    it("keeps a session its client's frames touch for longer than T", async () => {
      const session = await open();
      await keepAlive(session, 3 * T);
      expect(ended).toEqual([]);
      expect(session.ended).toBe(false);
    });

    it("expires an untouched session once, in (T, T + tick + lag]", async () => {
      const session = await open();
      const openedAt = env.clock.now();
      await env.advance(T + 2 * TICK + env.expiryLag + TICK);
      expect(ended.map((e) => [e.id, e.reason])).toEqual([[session.id, "expired"]]);
      const at = (ended[0] as { at: number }).at - openedAt;
      expect(at).toBeGreaterThan(T);
      expect(at).toBeLessThanOrEqual(T + TICK + env.expiryLag + 100);
      expect(session.ended).toBe(true);
      expect(await store.resume(session.id, session.tracked.password)).toBeUndefined();
    });

    it("ends a session on request, once, and refuses touches, resumes and pushes after", async () => {
      const session = await open();
      store.end(session, "closed");
      await env.advance(TICK);
      store.end(session, "closed");
      await env.advance(TICK);
      expect(ended.map((e) => [e.id, e.reason])).toEqual([[session.id, "closed"]]);
      expect(store.touch(session)).toBe(false);
      expect(await store.resume(session.id, session.tracked.password)).toBeUndefined();
      await expect(store.push(session.id, "news", 1)).rejects.toBeInstanceOf(SessionExpiredError);
    });

    it("records a push to a live session and refuses one to an unknown session", async () => {
      const session = await open();
      await expect(store.push(session.id, "news", { n: 1 })).resolves.toBeUndefined();
      await env.advance(0);
      expect(session.unacknowledgedPushes).toBe(1);
      await expect(store.push("no-such-session", "news", 1)).rejects.toBeInstanceOf(SessionExpiredError);
    });

    it("still removes a session whose expire listener throws, and reports the error", async () => {
      const errors: unknown[] = [];
      store.on("error", (error) => errors.push(error));
      store.on("expire", () => {
        throw new Error("a listener's bug");
      });
      const session = await open();
      store.end(session, "closed");
      await env.advance(TICK);
      expect(ended.map((e) => e.id)).toEqual([session.id]);
      expect(errors).toHaveLength(1);
      expect(store.get(session.id)).toBeUndefined();
    });

    it("expires nothing after close()", async () => {
      await open();
      await store.close();
      await env.advance(T + 4 * TICK + env.expiryLag);
      expect(ended).toEqual([]);
    });

    it("a backend frozen longer than T/n expires no session its frames kept touching", async (context) => {
      if (env.freeze === undefined) return context.skip();
      const session = await open();
      await keepAlive(session, T / 2);
      await env.freeze(400);
      await keepAlive(session, T + 2 * TICK, TICK / 2); // the clock runs on while the backend sleeps
      await new Promise((resolve) => setTimeout(resolve, 450));
      await keepAlive(session, T);
      expect(ended).toEqual([]);
    });

    it("replies held for longer than T expire no session its frames kept touching", async (context) => {
      if (env.faults === undefined) return context.skip();
      const faults = env.faults();
      const session = await open();
      await keepAlive(session, T / 2);
      faults.hold(); // the backend has each write; the store hears back only after T and more
      await keepAlive(session, T + 2 * TICK, TICK / 2);
      faults.releaseHeld();
      await keepAlive(session, T + 2 * TICK);
      expect(ended).toEqual([]);
      await env.advance(T + 2 * TICK + env.expiryLag + TICK);
      expect(ended.map((e) => [e.id, e.reason])).toEqual([[session.id, "expired"]]);
    });

    it("deadline writes that fail are written again: no touch is lost", async (context) => {
      if (env.faults === undefined) return context.skip();
      const faults = env.faults();
      const session = await open();
      const openedAt = env.clock.now();
      await env.advance(T / 2);
      faults.failNext("flushDeadlines", 2);
      expect(store.touch(session)).toBe(true); // its one touch: the next two writes of it fail
      // Past where the deadline written at open would have expired it.
      await env.advance(openedAt + T + TICK + env.expiryLag + 100 - env.clock.now());
      expect(faults.failed.get("flushDeadlines")).toBe(2);
      expect(ended).toEqual([]);
      await env.advance(T / 2 + TICK);
      expect(ended.map((e) => [e.id, e.reason])).toEqual([[session.id, "expired"]]);
    });

    it("push replies handed back in reverse order: each push arrives once, in order", async (context) => {
      if (env.faults === undefined) return context.skip();
      const faults = env.faults();
      const session = await open();
      const seqs: unknown[] = [];
      session.attach(
        {
          transport: "test",
          remoteAddress: "test",
          sendFrame: (frame) => seqs.push((decodeFrame(frame) as unknown[])[1]),
          end: () => {},
          requestEnded: () => {},
        },
        0,
      );
      faults.hold();
      const pushes = [1, 2, 3, 4].map((n) => store.push(session.id, "n", n));
      await env.advance(0);
      faults.releaseHeld("reversed");
      await Promise.all(pushes);
      // Pushes reach the carrier as messages, which a shared backend delivers in its own time.
      for (let i = 0; i < 50 && seqs.length < 4; i++) await env.advance(10);
      expect(seqs).toEqual([1, 2, 3, 4]);
      expect(session.unacknowledgedPushes).toBe(4);
    });

    it("a backend restarted empty ends the sessions it lost, instead of keeping them deaf", async (context) => {
      if (env.wipe === undefined) return context.skip();
      const session = await open();
      await keepAlive(session, T / 2);
      await env.wipe();
      await keepAlive(session, T / 2).catch(() => {}); // touches may be refused once it knows
      await env.advance(T + 2 * TICK + env.expiryLag);
      expect(ended.map((e) => e.id)).toEqual([session.id]);
      expect(await store.resume(session.id, session.tracked.password)).toBeUndefined();
    });
  });
}
