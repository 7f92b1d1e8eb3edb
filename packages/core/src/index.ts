export { type Clock, systemClock, type TimerHandle } from "./clock.js";
export {
  AbortError,
  ConfigurationError,
  InvalidArgumentError,
  SessionExpiredError,
  TetherError,
  TimeoutError,
} from "./errors.js";
export { ExpiryQueue } from "./expiry-queue.js";
export { ManualClock } from "./manual-clock.js";
export {
  SESSION_PASSWORD_BYTES,
  type SessionEndReason,
  type SessionState,
  SessionTracker,
  type SessionTrackerEvents,
  type SessionTrackerOptions,
  type TrackedSession,
} from "./session-tracker.js";
