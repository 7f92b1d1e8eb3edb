import { TooManySessionsError } from "./errors.js";
import type { MetricsRecorder } from "./server-metrics.js";
import type { ServerSession } from "./session/server-session.js";

/** The server's limits on connections and sessions, in all and per peer. 0: no limit. */
export interface PeerLimitOptions {
  maxConnectionsPerAddress: number;
  maxConnections: number;
  maxSessions: number;
  maxSessionsPerAddress: number;
}

/**
 * Counts a server's connections and sessions by peer key (the transport's `peerKey`: an IP
 * address, or a key of its own for a peer that has none) and says which limit a newcomer breaks.
 * Sockets still in a transport's handshake count as connections from their accept.
 */
export class PeerLimits {
  readonly #options: PeerLimitOptions;
  readonly #metrics: MetricsRecorder;
  readonly #liveSessions: () => number;
  readonly #connections = new Map<string, number>();
  #openConnections = 0;
  readonly #sessions = new Map<string, number>();
  readonly #sessionPeer = new WeakMap<ServerSession, string>();

  constructor(options: PeerLimitOptions, metrics: MetricsRecorder, liveSessions: () => number) {
    this.#options = options;
    this.#metrics = metrics;
    this.#liveSessions = liveSessions;
  }

  /**
   * Counts a connection (or a socket in a handshake) from `peerKey` and says which limit it
   * breaks, if any: it stays counted either way, until `disconnect`, called once for it.
   */
  connect(peerKey: string): string | undefined {
    addCount(this.#connections, peerKey, 1);
    this.#openConnections++;
    return this.#connectionRefusal(peerKey);
  }

  /** Uncounts a connection `connect` counted. */
  disconnect(peerKey: string): void {
    addCount(this.#connections, peerKey, -1);
    this.#openConnections--;
  }

  /** Throws `TooManySessionsError` when one more session from `peerKey` breaks a session limit. */
  checkSession(peerKey: string): void {
    const { maxSessions, maxSessionsPerAddress } = this.#options;
    if (maxSessions > 0 && this.#liveSessions() >= maxSessions) {
      this.#metrics.counts.refusedSessions++;
      throw new TooManySessionsError(`this server holds ${maxSessions} sessions, its limit`);
    }
    if (maxSessionsPerAddress > 0 && (this.#sessions.get(peerKey) ?? 0) >= maxSessionsPerAddress) {
      this.#metrics.counts.refusedSessions++;
      throw new TooManySessionsError(`${maxSessionsPerAddress} sessions from ${peerKey} already`);
    }
  }

  sessionOpened(session: ServerSession, peerKey: string): void {
    this.#sessionPeer.set(session, peerKey);
    addCount(this.#sessions, peerKey, 1);
  }

  sessionEnded(session: ServerSession): void {
    const peerKey = this.#sessionPeer.get(session);
    if (peerKey === undefined) return;
    this.#sessionPeer.delete(session);
    addCount(this.#sessions, peerKey, -1);
  }

  #connectionRefusal(peerKey: string): string | undefined {
    const { maxConnectionsPerAddress, maxConnections } = this.#options;
    if (maxConnectionsPerAddress > 0 && (this.#connections.get(peerKey) ?? 0) > maxConnectionsPerAddress) {
      this.#metrics.counts.refusedPerAddress++;
      return `more than ${maxConnectionsPerAddress} connections from ${peerKey}`;
    }
    if (maxConnections > 0 && this.#openConnections > maxConnections) {
      this.#metrics.counts.refusedTotal++;
      return `more than ${maxConnections} connections`;
    }
    return undefined;
  }
}

/** Moves `key`'s count in `counts` by `change`; a count that reaches 0 leaves the map. */
function addCount(counts: Map<string, number>, key: string, change: 1 | -1): void {
  const count = (counts.get(key) ?? 0) + change;
  if (count <= 0) counts.delete(key);
  else counts.set(key, count);
}
