import { EventEmitter } from "eventemitter3";
import { SessionExpiredError } from "../errors.js";
import {
  ServerSession,
  type ServerSessionEndReason,
  type SessionBounds,
  type SessionHost,
} from "./server-session.js";
import type { SessionStore, SessionStoreContext, SessionStoreEvents } from "./session-store.js";
import { SessionTracker } from "./session-tracker.js";

/**
 * The default store: every session in this process, on one {@link SessionTracker}. Nothing
 * survives the process; for that, use a shared store such as `@tether/cluster-redis`.
 */
export class MemorySessionStore extends EventEmitter<SessionStoreEvents> implements SessionStore {
  readonly tracker: SessionTracker;
  readonly #bounds: SessionBounds;
  readonly #sessions = new Map<string, ServerSession>();
  /** Why a session is ending when it was ended on purpose (the tracker only knows "closed"). */
  readonly #endReasons = new Map<string, ServerSessionEndReason>();

  constructor(context: SessionStoreContext) {
    super();
    this.#bounds = context.bounds;
    this.tracker = new SessionTracker({
      clock: context.clock,
      tickTime: context.tickTime,
      minSessionTimeout: context.minSessionTimeout,
      maxSessionTimeout: context.maxSessionTimeout,
    });
    this.tracker.on("expire", (tracked, reason) => {
      const session = this.#sessions.get(tracked.id);
      if (session === undefined) return;
      this.#sessions.delete(tracked.id);
      const why = this.#endReasons.get(tracked.id) ?? reason;
      this.#endReasons.delete(tracked.id);
      session.end(why);
      this.emit("expire", session, why);
    });
    this.tracker.on("error", (error) => this.emit("error", error));
    this.tracker.on("stall", (late) => this.emit("stall", late));
  }

  get tickTime(): number {
    return this.tracker.tickTime;
  }

  get minSessionTimeout(): number {
    return this.tracker.minSessionTimeout;
  }

  get maxSessionTimeout(): number {
    return this.tracker.maxSessionTimeout;
  }

  get size(): number {
    return this.#sessions.size;
  }

  open(requestedTimeout: number, principal: unknown): ServerSession {
    const tracked = this.tracker.createSession(requestedTimeout);
    const session = new ServerSession(tracked, principal, this.#bounds, this.#host);
    this.#sessions.set(session.id, session);
    return session;
  }

  resume(id: string, password: Uint8Array): ServerSession | undefined {
    const tracked = this.tracker.checkPassword(id, password);
    return tracked === undefined ? undefined : this.#sessions.get(tracked.id);
  }

  touch(session: ServerSession): boolean {
    return this.tracker.touchSession(session.tracked);
  }

  end(session: ServerSession, reason: ServerSessionEndReason): void {
    if (!this.#endReasons.has(session.id)) this.#endReasons.set(session.id, reason);
    this.tracker.closeSession(session.tracked);
  }

  async push(id: string, topic: string, body: unknown): Promise<void> {
    const session = this.#sessions.get(id);
    if (session === undefined) throw new SessionExpiredError(`session ${id} is not live`);
    session.push(topic, body);
  }

  get(id: string): ServerSession | undefined {
    return this.#sessions.get(id);
  }

  sessions(): IterableIterator<ServerSession> {
    return this.#sessions.values();
  }

  dump(): string {
    return this.tracker.dump();
  }

  async close(): Promise<void> {
    this.tracker.shutdown();
  }

  /** In one process the session object is the only copy: it numbers, admits and keeps alone. */
  readonly #host: SessionHost = {
    keepsEveryAnswer: false,
    end: (session, reason) => this.end(session, reason),
    push: (session, message, frame) => {
      if (!session.deliverPush(message, frame))
        throw new SessionExpiredError(`session ${session.id} ended: ${session.replayBoundText}`);
    },
    admit: () => true,
    answered: () => {},
    acknowledged: () => {},
  };
}

/** The default `sessionStore` option. */
export function memorySessionStore(context: SessionStoreContext): MemorySessionStore {
  return new MemorySessionStore(context);
}
