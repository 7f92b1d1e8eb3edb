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
export const HOP_SLACK_MS = 100;

export interface OnTimeOptions {
  /** A step later than this means the event loop stalled before it. */
  slackMs: number;
  /** After a late step, wait this long (0: one more hop) before judging again. */
  recoveryMs: number;
  /** Told of each late step, with how late it ran. */
  onLate?: (lateMs: number) => void;
  /** Given each timer as it is set, so the caller can cancel the current one. */
  track: (timer: TimerHandle) => void;
}

/**
 * Runs `then` `delay` ms from now, once a step has run on time. Node runs timers before I/O, so
 * a deadline that fires after a stalled loop has not yet read what arrived meanwhile: the first
 * timer is followed by a zero-delay hop (the I/O phase runs in between), and every step checks
 * its own lateness. A step more than `slackMs` late is reported and followed by a wait of
 * `recoveryMs`, after which an on-time step judges. Every deadline that could wrongly end a live
 * peer (idle reads, handshakes, session expiry) goes through here.
 */
export function runWhenOnTime(clock: Clock, delay: number, then: () => void, options: OnTimeOptions): void {
  const step = (wait: number, judges: boolean): void => {
    const due = clock.now() + wait;
    options.track(
      clock.setTimeout(() => {
        const late = clock.now() - due;
        if (late > options.slackMs) {
          options.onLate?.(late);
          step(options.recoveryMs, true);
        } else if (judges) then();
        else step(0, true);
      }, wait),
    );
  };
  step(delay, false);
}
