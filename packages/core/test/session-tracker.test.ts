import { describe, expect, it } from "vitest";
import {
  ConfigurationError,
  InvalidArgumentError,
  ManualClock,
  type SessionEndReason,
  SessionTracker,
  type SessionTrackerOptions,
} from "../src/index.js";

function setup(options: SessionTrackerOptions = {}) {
  const clock = new ManualClock();
  const tracker = new SessionTracker({ tickTime: 1000, ...options, clock });
  const ended: Array<{ id: string; reason: SessionEndReason; at: number; state: string }> = [];
  tracker.on("expire", (session, reason) => {
    ended.push({ id: session.id, reason, at: clock.now(), state: session.state });
  });
  return { clock, tracker, ended };
}

describe("SessionTracker timeout negotiation", () => {
  it("clamps to [2, 20] x tickTime by default (ZooKeeper's cases)", () => {
    const { tracker } = setup({ tickTime: 3000 });
    expect(tracker.createSession(3000).timeout).toBe(6000);
    expect(tracker.createSession(12000).timeout).toBe(12000);
    expect(tracker.createSession(90000).timeout).toBe(60000);
  });

  it("clamps to explicit min and max", () => {
    const { tracker } = setup({ tickTime: 3000, minSessionTimeout: 20000, maxSessionTimeout: 240000 });
    expect(tracker.createSession(10000).timeout).toBe(20000);
    expect(tracker.createSession(480000).timeout).toBe(240000);
    expect(tracker.createSession(30000).timeout).toBe(30000);
  });

  it("rejects min > max and bad tick times", () => {
    expect(() => new SessionTracker({ minSessionTimeout: 5000, maxSessionTimeout: 4000 })).toThrow(
      ConfigurationError,
    );
    expect(() => new SessionTracker({ tickTime: 0 })).toThrow(ConfigurationError);
    expect(() => new SessionTracker({ tickTime: 2.5 })).toThrow(ConfigurationError);
    expect(() => new SessionTracker({ minSessionTimeout: -1 })).toThrow(ConfigurationError);
  });

  it("refuses non-finite requested timeouts with a typed error", () => {
    const { tracker } = setup();
    expect(() => tracker.createSession(Number.NaN)).toThrow(InvalidArgumentError);
    expect(tracker.size).toBe(0);
  });
});

describe("SessionTracker sessions", () => {
  it("gives unguessable distinct ids and 16-byte random passwords", () => {
    const { tracker } = setup();
    const ids = new Set<string>();
    const passwords = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const session = tracker.createSession(5000);
      ids.add(session.id);
      passwords.add(Buffer.from(session.password).toString("hex"));
      expect(session.password.byteLength).toBe(16);
      expect(session.id).toMatch(/^[0-9a-f]{24}$/);
    }
    expect(ids.size).toBe(1000);
    expect(passwords.size).toBe(1000);
  });

  it("checks passwords: right gives the session; wrong, short, unknown give nothing", () => {
    const { tracker } = setup();
    const session = tracker.createSession(5000);
    expect(tracker.checkPassword(session.id, session.password)).toBe(session);
    const wrong = Uint8Array.from(session.password);
    wrong[15] = (wrong[15] ?? 0) ^ 1;
    expect(tracker.checkPassword(session.id, wrong)).toBeUndefined();
    expect(tracker.checkPassword(session.id, session.password.subarray(0, 8))).toBeUndefined();
    expect(tracker.checkPassword("nope", session.password)).toBeUndefined();
    tracker.setSessionClosing(session);
    expect(tracker.checkPassword(session.id, session.password)).toBeUndefined();
  });

  it("never puts the password in JSON", () => {
    const { tracker } = setup();
    const session = tracker.createSession(5000);
    expect(JSON.stringify(session)).not.toContain("password");
  });

  it("expires an untouched session inside (T, T + tickTime], exactly once", () => {
    const { clock, tracker, ended } = setup();
    clock.advance(300);
    const session = tracker.createSession(4000); // created at 300: deadline bucket 5000
    clock.advance(4000); // 4300 = creation + T: still alive
    expect(ended).toEqual([]);
    clock.advance(700); // 5000 = creation + T + 700 <= creation + T + tickTime
    expect(ended).toEqual([{ id: session.id, reason: "expired", at: 5000, state: "closing" }]);
    expect(tracker.getSession(session.id)).toBeUndefined();
    expect(session.state).toBe("ended");
    clock.advance(100_000);
    expect(ended).toHaveLength(1);
  });

  it("keeps a touched session alive and expires it a timeout after the last touch", () => {
    const { clock, tracker, ended } = setup();
    const session = tracker.createSession(4000);
    for (let i = 0; i < 20; i++) {
      clock.advance(1500);
      expect(tracker.touchSession(session.id)).toBe(true);
    }
    const lastTouch = clock.now(); // 30000
    expect(ended).toEqual([]);
    clock.advance(4000);
    expect(ended).toEqual([]);
    clock.advance(1000);
    expect(ended.map((e) => e.at)).toEqual([lastTouch + 5000]);
  });

  it("moves a session touched by object only when its bucket changes, with the times it gives", () => {
    const { clock, tracker, ended } = setup();
    const session = tracker.createSession(4000);
    expect(tracker.getExpiration(session)).toBe(5000);
    clock.advance(400); // still the bucket of 5000
    expect(tracker.touchSession(session)).toBe(true);
    expect(tracker.getExpiration(session)).toBe(5000);
    clock.advance(700); // 1100: the bucket of 6000
    expect(tracker.touchSession(session)).toBe(true);
    expect(tracker.getExpiration(session)).toBe(6000);
    // A touch dated earlier than the last moves it back, as ExpiryQueue.update does.
    expect(tracker.touchSession(session, 200)).toBe(true);
    expect(tracker.getExpiration(session)).toBe(5000);
    expect(tracker.touchSession(session, 1100)).toBe(true);
    clock.advance(5000);
    expect(ended.map((e) => e.at)).toEqual([6000]);
    expect(tracker.touchSession(session)).toBe(false);
  });

  it("refuses a session object another tracker made, in every call that takes one", () => {
    const { clock, tracker, ended } = setup();
    const other = setup();
    const mine = tracker.createSession(4000);
    const theirs = other.tracker.createSession(4000);
    clock.advance(1500);
    other.clock.advance(1500);
    expect(tracker.touchSession(theirs)).toBe(false);
    expect(tracker.getExpiration(theirs)).toBeNull();
    expect(tracker.closeSession(theirs)).toBe(false);
    tracker.setSessionClosing(theirs);
    expect(theirs.state).toBe("live");
    expect(other.tracker.touchSession(theirs)).toBe(true);
    expect(other.tracker.getExpiration(theirs)).toBe(6000);
    expect(tracker.touchSession(mine)).toBe(true);
    expect(tracker.size).toBe(1);
    clock.advance(4500);
    expect(ended.map((e) => e.id)).toEqual([mine.id]);
  });

  it("refuses touches of unknown and closing sessions, and still expires the closing one", () => {
    const { clock, tracker, ended } = setup();
    const session = tracker.createSession(4000);
    expect(tracker.touchSession("unknown")).toBe(false);
    tracker.setSessionClosing(session.id);
    expect(session.state).toBe("closing");
    clock.advance(3000);
    expect(tracker.touchSession(session)).toBe(false);
    clock.advance(2000); // original deadline 5000 still holds
    expect(ended.map((e) => [e.reason, e.at])).toEqual([["expired", 5000]]);
  });

  it("closes a session at once through the same path, once", () => {
    const { clock, tracker, ended } = setup();
    const session = tracker.createSession(4000);
    clock.advance(10);
    expect(tracker.closeSession(session.id)).toBe(true);
    expect(tracker.closeSession(session.id)).toBe(false);
    expect(ended).toEqual([{ id: session.id, reason: "closed", at: 10, state: "closing" }]);
    clock.advance(60_000);
    expect(ended).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("runs a listener's re-entrant close as a no-op", () => {
    const { clock, tracker, ended } = setup();
    tracker.on("expire", (session) => tracker.closeSession(session.id));
    tracker.createSession(4000);
    clock.advance(5000);
    expect(ended).toHaveLength(1);
  });

  it("removes the session even when a listener throws, reporting the error", () => {
    const clock = new ManualClock();
    const tracker = new SessionTracker({ tickTime: 1000, clock });
    const errors: unknown[] = [];
    const ended: string[] = [];
    tracker.on("expire", () => {
      throw new Error("listener bug");
    });
    tracker.on("expire", (s) => ended.push(s.id));
    tracker.on("error", (error) => errors.push(error));
    const session = tracker.createSession(4000);
    clock.advance(5000);
    expect(errors).toHaveLength(1);
    expect(ended).toEqual([session.id]); // later listeners still ran
    expect(tracker.getSession(session.id)).toBeUndefined();
  });

  it("keeps one timer for any number of sessions and none when empty", () => {
    const { clock, tracker } = setup();
    for (let i = 0; i < 500; i++) tracker.createSession(4000 + i * 10);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(100_000);
    expect(tracker.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("expires sessions with different timeouts in deadline order", () => {
    const clock = new ManualClock();
    const tracker = new SessionTracker({ tickTime: 1000, clock });
    const order: number[] = [];
    const deadlines = new Map<string, number>();
    tracker.on("expire", (session) => order.push(deadlines.get(session.id) as number));
    for (const timeout of [9000, 4000, 6000, 5000, 12000]) {
      const session = tracker.createSession(timeout);
      deadlines.set(session.id, tracker.getExpiration(session) as number);
    }
    clock.advance(30_000);
    expect(order).toEqual([5000, 6000, 7000, 10000, 13000]);
    expect(tracker.size).toBe(0);
  });

  it("after a stalled loop, drains every overdue bucket in deadline order", () => {
    // Simulates a blocked event loop: the clock jumps, then the (single) timer fires once.
    let fire: (() => void) | undefined;
    let now = 0;
    const clock = {
      now: () => now,
      setTimeout: (callback: () => void) => {
        fire = callback;
        return {};
      },
      clearTimeout: () => {
        fire = undefined;
      },
    };
    const tracker = new SessionTracker({ tickTime: 1000, clock });
    const expired: string[] = [];
    tracker.on("expire", (session) => expired.push(session.id));
    const a = tracker.createSession(4000); // bucket 5000
    const b = tracker.createSession(8000); // bucket 9000
    const c = tracker.createSession(40000); // bucket 41000
    now = 20_000;
    fire?.(); // the late expiry timer: it only schedules the hop past pending I/O
    expect(expired).toEqual([]);
    fire?.(); // the hop: now every overdue bucket drains, in order
    expect(expired).toEqual([a.id, b.id]);
    expect(tracker.getSession(c.id)).toBeDefined();
    now = 41_000;
    fire?.();
    fire?.();
    expect(expired).toEqual([a.id, b.id, c.id]);
  });

  it("after a stall, reads what arrived during it before judging: a touch in between saves a session", () => {
    let fire: (() => void) | undefined;
    let lastDelay = -1;
    let now = 0;
    const clock = {
      now: () => now,
      setTimeout: (callback: () => void, delay: number) => {
        fire = callback;
        lastDelay = delay;
        return {};
      },
      clearTimeout: () => {
        fire = undefined;
      },
    };
    const tracker = new SessionTracker({ tickTime: 1000, clock });
    const stalls: number[] = [];
    tracker.on("stall", (late) => stalls.push(late));
    const expired: string[] = [];
    tracker.on("expire", (session) => expired.push(session.id));
    const pinging = tracker.createSession(4000); // bucket 5000
    const silent = tracker.createSession(4000); // bucket 5000
    now = 15_000; // the loop was blocked for 14 s
    fire?.();
    expect(stalls).toEqual([14_000]); // the timer was due at the first tick boundary, 1000
    expect(lastDelay).toBe(1000); // judged a tick later, after the I/O phases
    tracker.touchSession(pinging); // its ping, read from the socket after the stall
    now = 16_000;
    fire?.();
    expect(expired).toEqual([silent.id]);
    expect(tracker.getSession(pinging.id)?.state).toBe("live");
  });

  it("judges only after a hop that ran on time: a stall between the timer and its hop saves a pinging session", () => {
    const { clock, tracker, ended } = setup();
    const stalls: number[] = [];
    tracker.on("stall", (late) => stalls.push(late));
    const pinging = tracker.createSession(4000); // bucket 5000
    clock.advance(4999);
    expect(clock.runNextTimer()).toBe(true); // the expiry timer at 5000, on time: it schedules its hop
    clock.stall(3000); // and the loop blocks before the hop runs, while a ping arrives
    clock.advance(0); // timers first: the hop, 3 s late
    tracker.touchSession(pinging); // then I/O: the ping
    clock.advance(1000);
    expect(ended).toEqual([]);
    expect(stalls).toEqual([3000]);
    expect(tracker.getSession(pinging.id)?.state).toBe("live");
  });

  it("checks the wait after a stall for lateness too: a second stall inside it saves a pinging session", () => {
    const { clock, tracker, ended } = setup();
    const stalls: number[] = [];
    tracker.on("stall", (late) => stalls.push(late));
    const pinging = tracker.createSession(4000); // bucket 5000
    clock.stall(6000);
    clock.advance(0); // the timer due at 1000 runs 5 s late: a stall, so a tick's wait
    tracker.touchSession(pinging); // its ping, read after the timers: bucket 11000
    clock.stall(6000); // blocked again, inside that wait, while another ping arrives
    clock.advance(0); // the wait's timer, late
    tracker.touchSession(pinging);
    clock.advance(1000);
    expect(ended).toEqual([]);
    expect(stalls.length).toBe(2);
    expect(tracker.getSession(pinging.id)?.state).toBe("live");
  });

  it("exposes the expiry map and a readable dump", () => {
    const { clock, tracker } = setup();
    const a = tracker.createSession(4000);
    const b = tracker.createSession(4000);
    const c = tracker.createSession(9000);
    expect([...tracker.getSessionExpiryMap()].map(([t, s]) => [t, s.map((x) => x.id)])).toEqual([
      [5000, [a.id, b.id]],
      [10000, [c.id]],
    ]);
    clock.advance(1000);
    const dump = tracker.dump();
    expect(dump).toContain("Session Sets (2)/(3):");
    expect(dump).toContain("5000 (in 4000 ms): 2 sessions");
    expect(dump).toContain(`\t${c.id} timeout=9000`);
    expect(dump).not.toContain(Buffer.from(a.password).toString("hex"));
  });

  it("stops expiring after shutdown", () => {
    const { clock, tracker, ended } = setup();
    tracker.createSession(4000);
    tracker.shutdown();
    clock.advance(60_000);
    expect(ended).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("SessionTracker bucket expiry", () => {
  it("marks the whole due bucket closing before listeners run", () => {
    const clock = new ManualClock();
    const tracker = new SessionTracker({ tickTime: 1000, clock });
    const a = tracker.createSession(4000);
    const b = tracker.createSession(4000);
    const touchesOfB: boolean[] = [];
    const created: string[] = [];
    tracker.on("expire", (session) => {
      if (session.id !== a.id) return;
      // A listener opens a session (reusing a freed slot) and tries to save b.
      created.push(tracker.createSession(4000).id);
      touchesOfB.push(tracker.touchSession(b));
    });
    clock.advance(5000);
    expect(touchesOfB).toEqual([false]);
    expect(tracker.getSession(b.id)).toBeUndefined();
    const survivor = created[0] as string;
    expect(tracker.getExpiration(survivor)).toBe(10_000);
    expect(tracker.size).toBe(1);
  });
});
