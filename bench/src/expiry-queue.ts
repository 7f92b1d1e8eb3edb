/**
 * bench/expiry-queue: one million sessions in the server's expiry structure.
 *
 * Contenders, all in this one run:
 *  - tether ExpiryQueue.update: the generic API, one Map lookup of the element per touch.
 *  - tether ExpiryQueue.updateInSlot: the slot-addressed path SessionTracker uses.
 *  - tether SessionTracker.touchSession: the server's real touch, on top of the slot path.
 *  - map-of-sets: a direct port of ZooKeeper's ExpiryQueue (Map element→time, Map time→Set).
 *  - timer-refresh: one Node timer per session, touched with `timeout.refresh()`.
 *
 * Workloads: (a) every touch moves the session to another bucket (the clock advances one
 * interval between passes); (b) every touch lands in the bucket it is already in. Reported as
 * the median ns per touch over several passes, and heap bytes per tracked session.
 */
import { ExpiryQueue, ManualClock, SessionTracker, type TrackedSession } from "@tether/core";
import { collectGarbage, fmt, median, nsPerOp, retainedHeap } from "./stats.js";

const SESSIONS = Number(process.env.SESSIONS ?? 1_000_000);
const PASSES = Number(process.env.PASSES ?? 7);
const INTERVAL = 2000;
const TIMEOUT = 30_000;

class Session {
  constructor(readonly id: number) {}
}

/** ZooKeeper's ExpiryQueue as written in Java, transcribed. The baseline to beat by 4x. */
class MapOfSetsExpiryQueue<E> {
  readonly #elemMap = new Map<E, number>();
  readonly #expiryMap = new Map<number, Set<E>>();
  constructor(
    readonly interval: number,
    readonly clock: ManualClock,
  ) {}
  update(e: E, timeout: number): number | null {
    const prev = this.#elemMap.get(e);
    const time = (Math.floor((this.clock.now() + timeout) / this.interval) + 1) * this.interval;
    if (time === prev) return null;
    let set = this.#expiryMap.get(time);
    if (set === undefined) {
      set = new Set();
      this.#expiryMap.set(time, set);
    }
    set.add(e);
    this.#elemMap.set(e, time);
    if (prev !== undefined) this.#expiryMap.get(prev)?.delete(e);
    return time;
  }
  get size() {
    return this.#elemMap.size;
  }
}

interface TrackerState {
  tracker: SessionTracker;
  tracked: TrackedSession[];
}

interface Contender {
  name: string;
  /** Adds all sessions; returns the structure so it stays reachable while measured. */
  build(sessions: Session[], clock: ManualClock): unknown;
  touchAll(state: unknown, sessions: Session[]): void;
  dispose(state: unknown): void;
}

const contenders: Contender[] = [
  {
    name: "tether ExpiryQueue.updateInSlot",
    build(sessions, clock) {
      const queue = new ExpiryQueue<Session>(INTERVAL, clock);
      const slots = new Int32Array(sessions.length);
      for (const s of sessions) queue.update(s, TIMEOUT);
      for (let i = 0; i < sessions.length; i++) slots[i] = queue.slotOf(sessions[i] as Session);
      return { queue, slots };
    },
    touchAll(state, sessions) {
      const { queue, slots } = state as { queue: ExpiryQueue<Session>; slots: Int32Array };
      for (let i = 0; i < sessions.length; i++) {
        queue.updateInSlot(slots[i] as number, sessions[i] as Session, TIMEOUT);
      }
    },
    dispose() {},
  },
  {
    name: "tether SessionTracker.touchSession",
    build(sessions, clock) {
      const tracker = new SessionTracker({ tickTime: INTERVAL, maxSessionTimeout: TIMEOUT, clock });
      return { tracker, tracked: sessions.map(() => tracker.createSession(TIMEOUT)) };
    },
    touchAll(state) {
      const { tracker, tracked } = state as TrackerState;
      for (let i = 0; i < tracked.length; i++) tracker.touchSession(tracked[i] as TrackedSession);
    },
    dispose(state) {
      (state as TrackerState).tracker.shutdown();
    },
  },
  {
    name: "tether ExpiryQueue.update",
    build(sessions, clock) {
      const queue = new ExpiryQueue<Session>(INTERVAL, clock);
      for (const s of sessions) queue.update(s, TIMEOUT);
      return queue;
    },
    touchAll(state, sessions) {
      const queue = state as ExpiryQueue<Session>;
      for (let i = 0; i < sessions.length; i++) queue.update(sessions[i] as Session, TIMEOUT);
    },
    dispose() {},
  },
  {
    name: "ZooKeeper Map-of-Sets port",
    build(sessions, clock) {
      const queue = new MapOfSetsExpiryQueue<Session>(INTERVAL, clock);
      for (const s of sessions) queue.update(s, TIMEOUT);
      return queue;
    },
    touchAll(state, sessions) {
      const queue = state as MapOfSetsExpiryQueue<Session>;
      for (let i = 0; i < sessions.length; i++) queue.update(sessions[i] as Session, TIMEOUT);
    },
    dispose() {},
  },
  {
    name: "Node timer per session + refresh()",
    build(sessions) {
      const timers: NodeJS.Timeout[] = [];
      const onExpire = () => {};
      // Long enough that none fires while measured.
      for (let i = 0; i < sessions.length; i++) timers.push(setTimeout(onExpire, 3_600_000));
      return timers;
    },
    touchAll(state) {
      const timers = state as NodeJS.Timeout[];
      for (let i = 0; i < timers.length; i++) (timers[i] as NodeJS.Timeout).refresh();
    },
    dispose(state) {
      for (const timer of state as NodeJS.Timeout[]) clearTimeout(timer);
    },
  },
];

interface Result {
  name: string;
  moveNs: number;
  stayNs: number;
  heapPerSession: number;
}

function measure(contender: Contender, sessions: Session[]): Result {
  const clock = new ManualClock(0);
  const { bytes, keep: state } = retainedHeap(() => contender.build(sessions, clock));
  const moves: number[] = [];
  const stays: number[] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    clock.advance(INTERVAL); // every session now belongs one bucket later
    moves.push(nsPerOp(sessions.length, () => contender.touchAll(state, sessions)));
    stays.push(nsPerOp(sessions.length, () => contender.touchAll(state, sessions)));
  }
  contender.dispose(state);
  collectGarbage();
  return {
    name: contender.name,
    moveNs: median(moves.slice(1)), // the first pass also warms the JIT
    stayNs: median(stays.slice(1)),
    heapPerSession: bytes / sessions.length,
  };
}

const sessions = Array.from({ length: SESSIONS }, (_, i) => new Session(i));
const results = contenders.map((c) => measure(c, sessions));
const [tether, tracker, generic, mapOfSets, timers] = results as [Result, Result, Result, Result, Result];

console.log(`expiry-queue: ${SESSIONS} sessions, ${PASSES} passes, node ${process.version}\n`);
console.log("| structure | (a) move ns/touch | (b) stay ns/touch | heap bytes/session |");
console.log("| --- | ---: | ---: | ---: |");
for (const r of results) {
  console.log(`| ${r.name} | ${fmt(r.moveNs)} | ${fmt(r.stayNs)} | ${fmt(r.heapPerSession, 0)} |`);
}
const ratio = (base: number, ours: number) => base / ours;
const vsMap = ratio(mapOfSets.moveNs, tether.moveNs);
const vsTimer = ratio(timers.moveNs, tether.moveNs);
console.log(
  `\n(a) move: ${fmt(vsMap, 2)}x the Map-of-Sets port (goal >= 4x: ${vsMap >= 4 ? "met" : "MISSED"})`,
);
console.log(
  `(a) move: ${fmt(vsTimer, 2)}x timer refresh() (goal >= 1.3x: ${vsTimer >= 1.3 ? "met" : "MISSED"})`,
);
console.log(
  `(b) stay: ${fmt(ratio(mapOfSets.stayNs, tether.stayNs), 2)}x the Map-of-Sets port, ${fmt(ratio(timers.stayNs, tether.stayNs), 2)}x timer refresh()`,
);
console.log(
  `(a) move, generic update(): ${fmt(ratio(mapOfSets.moveNs, generic.moveNs), 2)}x Map-of-Sets, ${fmt(ratio(timers.moveNs, generic.moveNs), 2)}x refresh()`,
);
console.log(
  `(a) move, SessionTracker.touchSession: ${fmt(ratio(timers.moveNs, tracker.moveNs), 2)}x refresh()`,
);
const heapOk = generic.heapPerSession < 64;
console.log(
  `heap: ${fmt(generic.heapPerSession, 0)} bytes/session in ExpiryQueue (goal < 64: ${heapOk ? "met" : "MISSED"})`,
);
