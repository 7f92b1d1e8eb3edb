import type { Clock, TimerHandle } from "./clock.js";
import { InvalidArgumentError } from "./errors.js";

interface ManualTimer extends TimerHandle {
  readonly deadline: number;
  /** Creation order: timers with equal deadlines fire in the order they were set. */
  readonly seq: number;
  callback: (() => void) | undefined;
}

/**
 * A clock that moves only when told to. `advance(ms)` fires every timer that falls due in the
 * window, in deadline order, with `now()` reading each timer's own deadline while it runs, so
 * timers that set timers inside the window fire too, exactly as they would in real time.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  /** Binary min-heap on (deadline, seq). Cleared timers stay until they reach the top. */
  #heap: ManualTimer[] = [];
  #live = 0;

  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new InvalidArgumentError(`start must be finite, got ${start}`);
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const delay = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    const timer: ManualTimer = { deadline: this.#now + delay, seq: this.#seq++, callback };
    this.#push(timer);
    this.#live++;
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as ManualTimer;
    if (timer.callback === undefined) return;
    timer.callback = undefined;
    this.#live--;
    // Cleared timers wait in the heap until they reach the top; rebuild it when they are
    // the majority, so a clock whose timers are mostly cancelled does not grow without bound.
    if (this.#heap.length > 64 && this.#live < this.#heap.length / 2) this.#compact();
  }

  /** Timers set and neither fired nor cleared. */
  get pendingTimers(): number {
    return this.#live;
  }

  /** The deadline of the next timer to fire, or `undefined` when none is pending. */
  nextTimerAt(): number | undefined {
    this.#dropCleared();
    return this.#heap[0]?.deadline;
  }

  /**
   * Moves time forward by `ms` without running a timer: an event loop blocked that long. The
   * next `advance` (`advance(0)` for none further) runs what fell due meanwhile, late, with
   * `now()` already past their deadlines, as Node runs them after a stall.
   */
  stall(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new InvalidArgumentError(`stall needs a finite ms >= 0, got ${ms}`);
    }
    this.#now += ms;
  }

  /**
   * Fires only the earliest pending timer, moving time to its deadline (never back): one step,
   * so a test can put a stall between a timer and the one it schedules. False if none is pending.
   */
  runNextTimer(): boolean {
    this.#dropCleared();
    const timer = this.#pop();
    if (timer === undefined) return false;
    this.#now = Math.max(this.#now, timer.deadline);
    this.#fire(timer);
    return true;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new InvalidArgumentError(`advance needs a finite ms >= 0, got ${ms}`);
    }
    const target = this.#now + ms;
    let fired = 0;
    for (let timer = this.#due(target); timer !== undefined; timer = this.#due(target)) {
      this.#now = Math.max(this.#now, timer.deadline); // overdue after a stall: it runs late
      this.#fire(timer);
      checkRunaway(++fired);
    }
    this.#now = target;
  }

  /**
   * Like {@link advance}, but lets promise callbacks settle after each timer, so code that
   * awaits between timers (a reconnect loop, an async handler) sees each step in turn.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new InvalidArgumentError(`advanceAsync needs a finite ms >= 0, got ${ms}`);
    }
    const target = this.#now + ms;
    await settle();
    let fired = 0;
    for (let timer = this.#due(target); timer !== undefined; timer = this.#due(target)) {
      this.#now = Math.max(this.#now, timer.deadline);
      this.#fire(timer);
      checkRunaway(++fired);
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #fire(timer: ManualTimer): void {
    const callback = timer.callback;
    if (callback === undefined) return;
    timer.callback = undefined;
    this.#live--;
    callback();
  }

  /** Pops the earliest live timer due at or before `target`. */
  #due(target: number): ManualTimer | undefined {
    this.#dropCleared();
    const top = this.#heap[0];
    if (top === undefined || top.deadline > target) return undefined;
    return this.#pop();
  }

  #dropCleared(): void {
    while (this.#heap[0] !== undefined && this.#heap[0].callback === undefined) this.#pop();
  }

  #compact(): void {
    const live = this.#heap.filter((timer) => timer.callback !== undefined);
    this.#heap = [];
    for (const timer of live) this.#push(timer);
  }

  #push(timer: ManualTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent] as ManualTimer)) break;
      heap[i] = heap[parent] as ManualTimer;
      i = parent;
    }
    heap[i] = timer;
  }

  #pop(): ManualTimer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && before(heap[right] as ManualTimer, heap[left] as ManualTimer) ? right : left;
      if (!before(heap[child] as ManualTimer, last)) break;
      heap[i] = heap[child] as ManualTimer;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function checkRunaway(fired: number): void {
  if (fired > MAX_TIMERS_PER_ADVANCE) {
    throw new InvalidArgumentError(
      `over ${MAX_TIMERS_PER_ADVANCE} timers fired in one advance: a zero-delay timer loop?`,
    );
  }
}

function before(a: ManualTimer, b: ManualTimer): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

/** Macrotask turns per settle: enough for a request, its reply and the follow-up to pass. */
const SETTLE_TURNS = 4;

/** Timers one advance may fire before it is taken for a zero-delay loop that never ends. */
const MAX_TIMERS_PER_ADVANCE = 1_000_000;

/** Lets queued promise reactions, their follow-ups and pending I/O callbacks run. */
async function settle(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  for (let i = 0; i < SETTLE_TURNS; i++) {
    await new Promise<void>((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
  }
}
