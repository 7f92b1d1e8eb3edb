import { EventEmitter } from "eventemitter3";
import { type Clock, runWhenOnTime, systemClock, type TimerHandle } from "../clock.js";
import { bucketNumber, ExpiryQueue, moveQueuedSlot, type SlottedElement } from "./expiry-queue.js";
import { randomHex } from "./session-secrets.js";
import { negotiateTimeout, sessionTimeouts } from "./session-timeouts.js";

/** Why a session ended: its deadline passed, or it was closed on purpose. */
export type SessionEndReason = "expired" | "closed";

export type SessionState = "live" | "closing" | "ended";

export const SESSION_PASSWORD_BYTES = 16;
const SESSION_ID_BYTES = 12;

/** One server-side session as the tracker sees it. */
export interface TrackedSession {
  /** Unguessable: 96 random bits as 24 hex digits. */
  readonly id: string;
  /** The negotiated timeout in ms. */
  readonly timeout: number;
  /** 16 random bytes the client must present to resume. Never log it. */
  readonly password: Uint8Array;
  readonly state: SessionState;
}

/** A session's state, and whether its end has begun, in one field (see `Session`). */
enum Phase {
  Live,
  Closing,
  /** Closing, and its end has begun: a listener that closes it again is a no-op. */
  Ending,
  Ended,
}
const PHASES = 4;
/** Numbers the trackers of the process, so a session can tell whose it is (kept a small integer). */
let trackersMade = 0;
const nextTrackerNumber = (): number => {
  trackersMade = (trackersMade + 1) % 2 ** 28;
  return trackersMade;
};

/** Every field here is paid for a million times over: the tracker's heap goal is per session. */
class Session implements TrackedSession, SlottedElement {
  /**
   * `owner * PHASES + phase`: the tracker that made it and its phase in one small integer, so
   * a touch tells this tracker's live sessions from others' with one comparison and no lookup.
   */
  #ownerAndPhase: number;
  /** Its slot in the tracker's ExpiryQueue, kept here so the queue needs no map to find it. */
  expirySlot = -1;
  /**
   * The bucket it was last moved to, as a count of ticks (a small integer, kept in the object,
   * where a time in ms would outgrow one after 24 days of uptime): a touch that lands in the
   * same bucket reads nothing but this object.
   */
  expiryTicks = 0;
  /**
   * The password as four 32-bit words, kept in the object itself: a `Uint8Array` per session
   * (an object, an ArrayBuffer and its store) would weigh more than everything else here.
   */
  readonly #w0: number;
  readonly #w1: number;
  readonly #w2: number;
  readonly #w3: number;

  constructor(
    owner: number,
    readonly id: string,
    readonly timeout: number,
    words: Int32Array,
  ) {
    this.#ownerAndPhase = owner * PHASES + Phase.Live;
    // Int32 words fit a small integer each: no number object per word.
    this.#w0 = words[0] as number;
    this.#w1 = words[1] as number;
    this.#w2 = words[2] as number;
    this.#w3 = words[3] as number;
  }

  // TypeScript-private, not `#`: a class with `#` accessors gives every instance a brand field.
  private get phase(): Phase {
    return this.#ownerAndPhase % PHASES;
  }

  private set phase(phase: Phase) {
    this.#ownerAndPhase += phase - this.phase;
  }

  get state(): SessionState {
    return this.phase === Phase.Live ? "live" : this.phase === Phase.Ended ? "ended" : "closing";
  }

  /** Whether tracker `owner` made it. */
  belongsTo(owner: number): boolean {
    return Math.floor(this.#ownerAndPhase / PHASES) === owner;
  }

  /** Whether tracker `owner` made it and it is live. */
  isLiveIn(owner: number): boolean {
    return this.#ownerAndPhase === owner * PHASES + Phase.Live;
  }

  /** Whether its end has begun. */
  get ending(): boolean {
    return this.phase >= Phase.Ending;
  }

  /** Live → closing: its touches are refused from now on. */
  close(): void {
    if (this.phase === Phase.Live) this.phase = Phase.Closing;
  }

  /** Its end begins: closing, and closing it again does nothing. */
  beginEnd(): void {
    this.phase = Phase.Ending;
  }

  /** Its end is done: its listeners ran and the tracker let it go. */
  finishEnd(): void {
    this.phase = Phase.Ended;
  }

  /** A copy of the 16 bytes, for the Welcome that hands them to the client. */
  get password(): Uint8Array {
    const bytes = new Uint8Array(SESSION_PASSWORD_BYTES);
    const view = new DataView(bytes.buffer);
    view.setInt32(0, this.#w0);
    view.setInt32(4, this.#w1);
    view.setInt32(8, this.#w2);
    view.setInt32(12, this.#w3);
    return bytes;
  }

  /** Whether `password` is this session's, in time independent of where it differs. */
  matches(password: Uint8Array): boolean {
    return wordsEqual(this.#w0, this.#w1, this.#w2, this.#w3, password);
  }

  toJSON(): object {
    // Keeps the password out of logs and JSON dumps.
    return { id: this.id, timeout: this.timeout, state: this.state };
  }
}

export interface SessionTrackerOptions {
  /** Bucket width of the expiry queue in ms. Default 2000. */
  tickTime?: number;
  /** Lowest negotiated timeout. Default `2 * tickTime`. */
  minSessionTimeout?: number;
  /** Highest negotiated timeout. Default `20 * tickTime`. */
  maxSessionTimeout?: number;
  clock?: Clock;
}

export interface SessionTrackerEvents {
  /** A session ended; emitted exactly once per session, while its state is `closing`. */
  expire: (session: TrackedSession, reason: SessionEndReason) => void;
  /** An `expire` listener threw; the session was removed all the same. */
  error: (error: unknown, session: TrackedSession) => void;
  /**
   * The expiry timer fired `lateMs` late (a stalled event loop). Expiry then waits one tick,
   * so frames that arrived during the stall are read before any session is judged.
   */
  stall: (lateMs: number) => void;
}

/**
 * The server's table of sessions, on one {@link ExpiryQueue} and one timer that is re-armed to
 * the queue's wait time: no timer per session and no scans. Every frame of a session touches
 * it; a session whose bucket comes due goes live → closing → `expire` listeners → removed.
 */
export class SessionTracker extends EventEmitter<SessionTrackerEvents> {
  readonly tickTime: number;
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
  readonly #clock: Clock;
  readonly #queue: ExpiryQueue<Session>;
  readonly #sessions = new Map<string, Session>();
  /** This tracker's number, which its sessions carry. */
  readonly #owner = nextTrackerNumber();
  #timer: TimerHandle | undefined;
  #shutdown = false;

  constructor(options: SessionTrackerOptions = {}) {
    super();
    const { tickTime, minSessionTimeout, maxSessionTimeout } = sessionTimeouts(options);
    this.tickTime = tickTime;
    this.minSessionTimeout = minSessionTimeout;
    this.maxSessionTimeout = maxSessionTimeout;
    this.#clock = options.clock ?? systemClock;
    this.#queue = ExpiryQueue.withSlotsOnElements<Session>(this.tickTime, this.#clock);
  }

  /** Live and closing sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Clamps a requested timeout to `[minSessionTimeout, maxSessionTimeout]`. */
  negotiateTimeout(requested: number): number {
    return negotiateTimeout(requested, this);
  }

  /** Opens a session with the negotiated timeout and starts its first deadline. */
  createSession(requestedTimeout: number): TrackedSession {
    const timeout = this.negotiateTimeout(requestedTimeout);
    let id = randomHex(SESSION_ID_BYTES); // 96 random bits
    while (this.#sessions.has(id)) id = randomHex(SESSION_ID_BYTES);
    const words = crypto.getRandomValues(new Int32Array(SESSION_PASSWORD_BYTES / 4));
    const session = new Session(this.#owner, id, timeout, words);
    this.#sessions.set(id, session);
    session.expiryTicks = (this.#queue.update(session, timeout) as number) / this.tickTime;
    this.#arm();
    return session;
  }

  getSession(id: string): TrackedSession | undefined {
    return this.#sessions.get(id);
  }

  /**
   * The live session `id` if `password` is its password, compared in constant time.
   * Unknown, ending and wrong-password sessions all give `undefined`: no oracle.
   */
  checkPassword(id: string, password: Uint8Array): TrackedSession | undefined {
    const session = this.#sessions.get(id);
    // An unknown id is compared too (against nothing anyone holds): it costs what a wrong password does.
    const matches = password.byteLength === SESSION_PASSWORD_BYTES && (session ?? DUMMY).matches(password);
    return matches && session?.state === "live" ? session : undefined;
  }

  /**
   * Pushes the session's deadline to `now + timeout` (rounded up to a bucket). False when the
   * session is unknown or already closing: its frames are no longer accepted.
   */
  touchSession(idOrSession: string | TrackedSession, now?: number): boolean {
    const session = this.#resolve(idOrSession);
    if (session === undefined || !session.isLiveIn(this.#owner)) return false;
    const time = now ?? this.#clock.now();
    const ticks = bucketNumber(time + session.timeout, this.tickTime);
    if (ticks === session.expiryTicks) return true;
    session.expiryTicks = ticks;
    // A live session of this tracker is in its queue, in the slot it carries.
    moveQueuedSlot(this.#queue, session.expirySlot, ticks * this.tickTime);
    return true;
  }

  /** Marks a session closing: its touches are refused from now on, its expiry still follows. */
  setSessionClosing(idOrSession: string | TrackedSession): void {
    const session = this.#resolve(idOrSession);
    session?.close();
  }

  /** Ends a session at once (the client closed it), through the same path as expiry. */
  closeSession(idOrSession: string | TrackedSession): boolean {
    const session = this.#resolve(idOrSession);
    if (session === undefined || session.ending) return false;
    this.#end(session, "closed");
    return true;
  }

  /** Deadline of a session, or `null` if it is not tracked. */
  getExpiration(idOrSession: string | TrackedSession): number | null {
    const session = this.#resolve(idOrSession);
    return session === undefined ? null : this.#queue.getExpiration(session);
  }

  /** Expiration time → sessions in that bucket, in time order. */
  getSessionExpiryMap(): Map<number, TrackedSession[]> {
    return this.#queue.getExpiryMap();
  }

  /** A human-readable table of sessions by expiry bucket, like ZooKeeper's `dump`. */
  dump(): string {
    const now = this.#clock.now();
    const map = this.getSessionExpiryMap();
    const lines = [`Session Sets (${map.size})/(${this.size}):`];
    for (const [time, sessions] of map) {
      lines.push(`${time} (in ${Math.round(time - now)} ms): ${sessions.length} sessions`);
      for (const session of sessions) lines.push(`\t${session.id} timeout=${session.timeout}`);
    }
    return lines.join("\n");
  }

  /** Stops the expiry timer. Sessions stay in the table; nothing expires any more. */
  shutdown(): void {
    this.#shutdown = true;
    this.#disarm();
  }

  #resolve(idOrSession: string | TrackedSession): Session | undefined {
    // A session object this tracker made needs no lookup: touches are the hot path.
    if (idOrSession instanceof Session && idOrSession.belongsTo(this.#owner)) return idOrSession;
    const id = typeof idOrSession === "string" ? idOrSession : idOrSession.id;
    return this.#sessions.get(id);
  }

  /**
   * Expires the next bucket when it is due. After a stalled loop, frames that would save these
   * sessions sit unread: a step more than a tick late waits a whole tick (every connection's
   * backlog, more than one poll phase's worth at scale, is read meanwhile) before judging.
   */
  #arm(): void {
    if (this.#timer !== undefined || this.#shutdown || this.#sessions.size === 0) return;
    runWhenOnTime(this.#clock, this.#queue.getWaitTime(), () => this.#onTimer(), {
      slackMs: this.tickTime,
      recoveryMs: this.tickTime,
      onLate: (late) => this.emit("stall", late),
      track: (timer) => {
        this.#timer = timer;
      },
    });
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Drains every bucket that is due. After a stalled event loop several are overdue at once;
   * `poll()` hands them out one per call, oldest first, so they expire in deadline order.
   */
  #onTimer(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    while (this.#queue.getWaitTime(now) === 0) {
      const due = [...this.#queue.poll(now)] as Session[];
      // All of the bucket is closing before any listener runs: a listener's touch of a
      // later session in the bucket must be refused, since its slot is already released.
      for (const session of due) session.close();
      for (const session of due) this.#end(session, "expired");
      // With no sessions left, stop: the cursor catches up when the next session arrives.
      if (this.#sessions.size === 0) break;
    }
    this.#arm();
  }

  #end(session: Session, reason: SessionEndReason): void {
    if (session.ending) return;
    session.beginEnd();
    this.#queue.remove(session);
    for (const listener of this.listeners("expire")) {
      try {
        listener.call(this, session, reason);
      } catch (error) {
        // Like Node's emitters, an error nobody listens for is thrown, but only after the
        // session has been removed, so the table stays consistent.
        if (!this.emit("error", error, session))
          queueMicrotask(() => {
            throw error;
          });
      }
    }
    session.finishEnd();
    this.#sessions.delete(session.id);
    if (this.#sessions.size === 0) this.#disarm();
  }
}

/**
 * Compares a password's four words with 16 bytes in time independent of where they differ:
 * every word is visited and differences are OR-ed, with no early exit (the idiom of
 * `timingSafeEqual`).
 */
function wordsEqual(w0: number, w1: number, w2: number, w3: number, bytes: Uint8Array): boolean {
  if (bytes.byteLength !== SESSION_PASSWORD_BYTES) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const difference =
    (w0 ^ view.getInt32(0)) | (w1 ^ view.getInt32(4)) | (w2 ^ view.getInt32(8)) | (w3 ^ view.getInt32(12));
  return difference === 0;
}

/** Compared against when the id is unknown, so unknown ids cost the same as wrong passwords. */
const DUMMY = { matches: (password: Uint8Array) => wordsEqual(0, 0, 0, 0, password) };
