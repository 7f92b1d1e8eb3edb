import type { EventEmitter } from "eventemitter3";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { ServerSession, ServerSessionEndReason, SessionBounds } from "./server-session.js";

/** What a server hands the store it is built with. */
export interface SessionStoreContext {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Expiry bucket width in ms. */
  readonly tickTime: number;
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
  readonly bounds: SessionBounds;
}

export interface SessionStoreEvents {
  /**
   * A session ended. Emitted once per session among every server sharing the store, on the
   * server that ended it; the session may be carried by another server (or none), in which
   * case its `data` is empty here.
   */
  expire: (session: ServerSession, reason: ServerSessionEndReason) => void;
  /** An `expire` listener threw; the session was removed all the same. */
  error: (error: unknown) => void;
  /** Expiry ran `lateMs` late (a stalled event loop) and waited a tick to read input first. */
  stall: (lateMs: number) => void;
}

/**
 * Where a server keeps its sessions: the seam between the session protocol and the session
 * table. The in-process {@link MemorySessionStore} is the default; a shared store (such as
 * `@tether/cluster-redis`) lets several servers carry the same sessions. Calls that may need
 * another process answer with a promise; the in-process store answers at once.
 */
export interface SessionStore extends EventEmitter<SessionStoreEvents> {
  readonly tickTime: number;
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
  /** Sessions this server carries. */
  readonly size: number;
  /** Opens a session for an authenticated client; `principal` is what `authenticate` returned. */
  open(requestedTimeout: number, principal: unknown): ServerSession | Promise<ServerSession>;
  /**
   * The live session `id` if `password` is its password, ready to be carried by this server;
   * `undefined` for unknown, ending and wrong-password sessions alike (no oracle).
   */
  resume(id: string, password: Uint8Array): ServerSession | undefined | Promise<ServerSession | undefined>;
  /** A frame of the session arrived: push its deadline out. False when it is already ending. */
  touch(session: ServerSession): boolean;
  /** Ends a session now (closed by either side, or a bound overflowed). */
  end(session: ServerSession, reason: ServerSessionEndReason): void;
  /**
   * Sends a push to session `id`, wherever it is carried. Resolves once the push is recorded
   * (it will be delivered, now or on resume); rejects with `SessionExpiredError` if the
   * session is unknown or has ended.
   */
  push(id: string, topic: string, body: unknown): Promise<void>;
  /** A session carried by this server. */
  get(id: string): ServerSession | undefined;
  /** The sessions this server carries. */
  sessions(): IterableIterator<ServerSession>;
  /** This server's sessions by expiry bucket, for `server.dump()`. Passwords never appear. */
  dump(): string;
  /** Stops expiry and releases what the store holds (timers, connections). */
  close(): Promise<void>;
}

/** Builds a server's store from the server's settings: the `sessionStore` server option. */
export type SessionStoreFactory = (context: SessionStoreContext) => SessionStore;
