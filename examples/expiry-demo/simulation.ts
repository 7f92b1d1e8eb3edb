import { type Clock, type SessionEndReason, SessionTracker, type TrackedSession } from "@tether/core";

export interface SimulationOptions {
  clock: Clock;
  tickTime: number;
  sessions: number;
  /** Share of clients that stop talking at some point (their sessions must expire). */
  silentShare: number;
  random?: () => number;
}

export interface SimulationEvent {
  at: number;
  session: string;
  kind: "opened" | SessionEndReason;
}

/**
 * A server's session table under a crowd of clients: most keep touching their sessions,
 * some fall silent and expire, one closes explicitly. Pure logic on an injected clock, so the
 * test drives it with ManualClock and the demo with the system clock.
 */
export function startSimulation(options: SimulationOptions) {
  const { clock, tickTime } = options;
  const random = options.random ?? Math.random;
  const tracker = new SessionTracker({ tickTime, clock });
  const events: SimulationEvent[] = [];
  const silentAt = new Map<string, number>();
  const timers = new Set<ReturnType<Clock["setTimeout"]>>();

  tracker.on("expire", (session, reason) => {
    events.push({ at: clock.now(), session: session.id, kind: reason });
  });

  const every = (ms: number, fn: () => boolean) => {
    const run = () => {
      timers.delete(handle);
      if (fn()) {
        handle = clock.setTimeout(run, ms);
        timers.add(handle);
      }
    };
    let handle = clock.setTimeout(run, ms);
    timers.add(handle);
  };

  const sessions: TrackedSession[] = [];
  for (let i = 0; i < options.sessions; i++) {
    const timeout = (2 + Math.floor(random() * 4)) * tickTime;
    const session = tracker.createSession(timeout);
    sessions.push(session);
    events.push({ at: clock.now(), session: session.id, kind: "opened" });
    if (random() < options.silentShare) silentAt.set(session.id, clock.now() + random() * 4 * timeout);
    // A client pings at a third of its timeout, like the real client's heartbeat.
    every(Math.max(1, Math.floor(timeout / 3)), () => {
      const silentFrom = silentAt.get(session.id);
      if (silentFrom !== undefined && clock.now() >= silentFrom) return false;
      return tracker.touchSession(session);
    });
  }
  const closer = sessions[0];
  if (closer !== undefined) {
    every(3 * tickTime, () => {
      tracker.closeSession(closer);
      return false;
    });
  }

  return {
    tracker,
    events,
    silentAt,
    stop() {
      for (const handle of timers) clock.clearTimeout(handle);
      timers.clear();
      tracker.shutdown();
    },
  };
}
