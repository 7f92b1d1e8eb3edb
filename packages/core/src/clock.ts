/** An opaque handle for a timer created by a {@link Clock}. */
export interface TimerHandle {
  readonly __timerHandle?: never;
}

/**
 * The only source of time in Tether. `now()` is monotonic milliseconds (never wall-clock
 * time, which jumps), and timers are scheduled against it. Injecting a clock is what lets
 * every heartbeat and expiry rule be tested with {@link ManualClock} instead of sleeping.
 */
export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin. */
  now(): number;
  /** Runs `callback` once, `delayMs` (clamped to >= 0) after now. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; harmless for a timer that already fired or was already cleared. */
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock: `performance.now()` and Node's own timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)) as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A zero-delay hop runs within a millisecond or two; one this late means the loop stalled before it. */
const HOP_SLACK_MS = 100;

/**
 * Runs `then` after a zero-delay hop that itself ran on time. Node runs timers before I/O, so a
 * deadline that fires after a stalled loop has not yet read what arrived meanwhile; one hop lets
 * the I/O phase run first, and a hop that was itself late (the loop stalled again) hops once
 * more. `track` is given each timer, so the caller can cancel the current one.
 */
export function afterOnTimeHop(clock: Clock, then: () => void, track: (timer: TimerHandle) => void): void {
  const due = clock.now();
  track(
    clock.setTimeout(() => {
      if (clock.now() - due > HOP_SLACK_MS) afterOnTimeHop(clock, then, track);
      else then();
    }, 0),
  );
}
