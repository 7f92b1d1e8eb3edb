import { EventEmitter } from "eventemitter3";
import type { AnswerOf, BodyOf, OpName, TetherApi, TopicOf, UntypedApi } from "./api.js";
import { Channel } from "./channel/channel.js";
import { MessagePackCodec } from "./channel/msgpack-codec.js";
import type { Pipeline } from "./channel/pipeline.js";
import { TrafficCounter } from "./channel/traffic-counter.js";
import { type Clock, systemClock } from "./clock.js";
import {
  AuthenticationError,
  ConfigurationError,
  FrameTooLargeError,
  InvalidArgumentError,
} from "./errors.js";
import { type Logger, stderrLogger } from "./logger.js";
import { PeerLimits } from "./peer-limits.js";
import { MetricsRecorder, SERVER_COUNTER_NAMES, type ServerMetrics } from "./server-metrics.js";
import { ServerPipeline } from "./server-pipeline.js";
import { MemorySessionStore, memorySessionStore } from "./session/memory-session-store.js";
import type { Hello } from "./session/protocol.js";
import { CloseCode } from "./session/protocol.js";
import {
  type HandleOptions,
  type RegisteredHandler,
  type RequestContext,
  RequestDispatcher,
  type RequestHandler,
} from "./session/request-dispatcher.js";
import { ServerPinger } from "./session/server-pinger.js";
import type { ServerSession, ServerSessionEndReason } from "./session/server-session.js";
import { ServerSessionHandler, type SessionHost } from "./session/server-session-handler.js";
import type { SessionStore, SessionStoreFactory } from "./session/session-store.js";
import type { SessionTracker } from "./session/session-tracker.js";
import type { Admission, CloseInfo, Connection, Listener, Transport } from "./transport/connection.js";

export interface ConnectionInfo {
  transport: string;
  remoteAddress: string;
  /** Who the peer is for per-peer limits (see `Connection.peerKey`). */
  peerKey: string;
}

export interface ServerOptions {
  /** Expiry bucket width. Default 2000 ms. */
  tickTime?: number;
  /** Default `2 * tickTime`. */
  minSessionTimeout?: number;
  /** Default `20 * tickTime`. */
  maxSessionTimeout?: number;
  clock?: Clock;
  /**
   * pino-compatible. Default: warnings and errors to stderr, at most 20 lines a second
   * (`stderrLogger`); `silentLogger` for none. Passwords are never logged.
   */
  logger?: Logger;
  /**
   * Decides who may open a session: return a principal (any value), or throw / return
   * `false` to refuse; refused clients end `auth-failed` and no session is created.
   */
  authenticate?: (credentials: unknown, connection: ConnectionInfo) => unknown;
  /** A connection that has not opened a session by then gets `HandshakeTimeout`. Default 10 s. */
  handshakeTimeout?: number;
  /** Unacknowledged pushes kept per session for replay. Default 1024. */
  maxReplay?: number;
  /** Bytes of unacknowledged pushes kept per session (encoded). Default 4 MiB. */
  maxReplayBytes?: number;
  /** Unacknowledged responses kept per session for dedupe. Default 1024. */
  maxResponses?: number;
  /** Bytes of unacknowledged responses kept per session (encoded). Default 4 MiB. */
  maxResponseBytes?: number;
  /**
   * Bytes of `session.data` (encoded) a shared store keeps so that it moves with the session;
   * a session whose data outgrows it ends with `buffer-overflow`. Default 64 KiB.
   */
  maxSessionDataBytes?: number;
  /** Requests running per connection above which reading pauses. Default 64. */
  maxInFlightPerConnection?: number;
  /**
   * Requests running per session, across all its connections, above which reading pauses.
   * Default 64. (A resume starts a new connection, not a new allowance.)
   */
  maxInFlightPerSession?: number;
  /** Bytes queued to one connection above which it is closed as a slow consumer. Default 8 MiB. */
  maxOutboundBytes?: number;
  /**
   * Open connections allowed from one remote host (0: no limit). Default 60. Behind a reverse
   * proxy every client shares the proxy's address: raise it or turn it off there.
   */
  maxConnectionsPerAddress?: number;
  /** Open connections allowed in all (0: no limit). Default 0. */
  maxConnections?: number;
  /**
   * Live sessions (connected or waiting for a resume) this server holds in all (0: no limit).
   * Default 100,000. A Hello over it gets Goodbye 4012 and no session.
   */
  maxSessions?: number;
  /**
   * Live sessions opened from one remote host (0: no limit). Default 1,000: a peer that opens
   * sessions and drops them cannot fill the server for `maxSessionTimeout`. Behind a reverse
   * proxy every client shares the proxy's address: raise it or turn it off there.
   */
  maxSessionsPerAddress?: number;
  /**
   * Adds user handlers to each connection's pipeline. It holds the handlers `ServerPipeline`
   * names, `traffic` (frame and byte counts), `codec` (frames ⇄ messages), `session` (the
   * protocol) and `dispatch` (runs `handle()` registrations): put frame-level handlers before
   * `codec`, request-level ones between `session` and `dispatch` (requests pass them going up,
   * replies coming down).
   */
  configurePipeline?: (pipeline: Pipeline, channel: Channel) => void;
  /**
   * Where sessions live. Default: this process ({@link MemorySessionStore}); a shared store
   * such as `@tether/cluster-redis` lets sessions outlive the server.
   */
  sessionStore?: SessionStoreFactory;
}

export interface ServerEvents {
  /** A session opened (`resumed` false) or was resumed on a new connection. */
  session: (session: ServerSession, resumed: boolean) => void;
  /** A session ended; its ephemeral state should go. Once per session. */
  expire: (session: ServerSession, reason: ServerSessionEndReason) => void;
  /** A request handler threw something other than a `RequestError`. */
  error: (error: unknown) => void;
}

export interface CloseOptions {
  /**
   * False (default): every connection gets Goodbye 4007 (going away: reconnect elsewhere and
   * resume), and sessions are left to the next server (cluster mode) or to expire with the
   * process. True: sessions end now (4000), running their expire listeners.
   */
  endSessions?: boolean;
}

/**
 * A Tether server: one session table shared by any number of listeners, on any transports
 * (a session opened over WebSocket can resume over TCP).
 */
export class TetherServer<Api extends TetherApi = UntypedApi> extends EventEmitter<ServerEvents> {
  /** Where sessions live: in this process by default, or shared (`sessionStore` option). */
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly #options: ServerOptions;
  readonly #handlers = new Map<string, RegisteredHandler>();
  readonly #listeners = new Set<Listener>();
  readonly #channels = new Set<Channel>();
  /** Open connections per transport name, kept as they open and close: a scrape walks no channels. */
  readonly #connectionsByTransport = new Map<string, number>();
  readonly #host: SessionHost;
  readonly #pinger: ServerPinger;
  readonly #metrics = new MetricsRecorder();
  /**
   * Handlers that keep no per-connection state, one instance in every connection's pipeline
   * (Netty's @Sharable): fewer objects per session, and ones every frame finds in the cache.
   */
  readonly #traffic = new TrafficCounter(this.#metrics.counts);
  readonly #codec = new MessagePackCodec();
  readonly #dispatch = new RequestDispatcher(this.#handlers, (error, request) => {
    this.logger.error({ err: error, op: request.op, session: request.session.id }, "request handler failed");
    this.emit("error", error);
  });
  readonly #limits: PeerLimits;
  #closed = false;

  constructor(options: ServerOptions = {}) {
    super();
    this.#options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? stderrLogger(this.clock);
    const tickTime = options.tickTime ?? 2000;
    this.store = (options.sessionStore ?? memorySessionStore)({
      clock: this.clock,
      logger: this.logger,
      tickTime,
      minSessionTimeout: options.minSessionTimeout ?? 2 * tickTime,
      maxSessionTimeout: options.maxSessionTimeout ?? 20 * tickTime,
      bounds: {
        maxReplay: options.maxReplay ?? 1024,
        maxReplayBytes: options.maxReplayBytes ?? 4 * 1024 * 1024,
        maxResponses: options.maxResponses ?? 1024,
        maxResponseBytes: options.maxResponseBytes ?? 4 * 1024 * 1024,
        maxDataBytes: options.maxSessionDataBytes ?? 64 * 1024,
      },
    });
    this.#limits = new PeerLimits(
      {
        maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 60,
        maxConnections: options.maxConnections ?? 0,
        maxSessions: options.maxSessions ?? 100_000,
        maxSessionsPerAddress: options.maxSessionsPerAddress ?? 1000,
      },
      this.#metrics,
      () => this.store.size,
    );
    this.store.on("expire", (session, reason) => {
      this.#limits.sessionEnded(session);
      if (session.abandoned) return; // opened for a handshake given up before its Welcome
      this.logger.info({ session: session.id, reason }, "session ended");
      this.#metrics.sessionsEnded[reason]++;
      this.emit("expire", session, reason);
    });
    this.store.on("error", (error) => this.logger.error({ err: error }, "an expire listener threw"));
    this.store.on("stall", (late) => {
      this.#metrics.counts.stalls++;
      this.logger.warn(
        { lateMs: Math.round(late) },
        "event loop stalled: expiry waits a tick to read input first",
      );
    });
    this.#pinger = new ServerPinger(this.clock, tickTime);
    this.#host = this.#createHost();
    this.admission = {
      handshakeTimeout: this.#host.handshakeTimeout,
      admit: (peerKey) => this.#admit(peerKey),
    };
  }

  /**
   * Registers the handler for requests with this `op`. Its result (or promise) is the reply.
   * Each request runs at most once, unless the op is registered `idempotent` (see `HandleOptions`).
   */
  handle<Op extends OpName<Api>, Body = BodyOf<Api, Op>>(
    op: Op,
    handler: (body: Body, context: RequestContext) => AnswerOf<Api, Op> | Promise<AnswerOf<Api, Op>>,
    options: HandleOptions<Body> = {},
  ): this {
    if (this.#handlers.has(op)) throw new InvalidArgumentError(`a handler for "${op}" is already registered`);
    this.#handlers.set(op, {
      run: handler as RequestHandler,
      idempotent: options.idempotent ?? false,
      schema: options.body,
    });
    return this;
  }

  /**
   * The connection limits and the handshake deadline as a listener applies them from the TCP
   * accept, before a TLS or WebSocket handshake can hold a socket. `listen` passes it to its
   * transport; pass it to `attachWebSocket` (its `admission` option) when Tether shares your
   * own http or https server.
   */
  readonly admission: Admission;

  /** Listens on a transport; connections it accepts join this server. */
  async listen(transport: Transport, address: string): Promise<Listener> {
    const listener = await transport.listen(address, (connection) => this.accept(connection), {
      admission: this.admission,
    });
    this.#listeners.add(listener);
    return listener;
  }

  /**
   * Takes a connection from anywhere (`attachWebSocket`, a framework's upgrade, a custom
   * transport) and runs the session protocol on it.
   */
  accept(connection: Connection): Channel {
    const channel = new Channel(connection, {
      clock: this.clock,
      logger: this.logger,
      onClose: this.#channelClosed,
    });
    if (this.#closed) {
      void connection.close();
      return channel;
    }
    channel.pipeline
      .addLast(ServerPipeline.traffic, this.#traffic)
      .addLast(ServerPipeline.codec, this.#codec)
      .addLast(ServerPipeline.session, new ServerSessionHandler(this.#host))
      .addLast(ServerPipeline.dispatch, this.#dispatch);
    this.#options.configurePipeline?.(channel.pipeline, channel);
    this.#channels.add(channel);
    const transport = connection.transport;
    this.#connectionsByTransport.set(transport, (this.#connectionsByTransport.get(transport) ?? 0) + 1);
    const refusal = this.#limits.connect(connection.peerKey);
    channel.start();
    if (refusal !== undefined) {
      this.logger.warn({ remoteAddress: connection.remoteAddress, limit: refusal }, "connection refused");
      (channel.pipeline.get(ServerPipeline.session) as ServerSessionHandler).end(
        CloseCode.TooManyConnections,
        refusal,
      );
    }
    return channel;
  }

  /** A snapshot of the server's counters and gauges. */
  metrics(): ServerMetrics {
    const connectionsByTransport = Object.fromEntries(this.#connectionsByTransport);
    const m = this.#metrics;
    return {
      ...m.counts,
      sessions: this.store.size,
      connections: this.#channels.size,
      connectionsByTransport,
      sessionsEnded: { ...m.sessionsEnded },
      goodbyes: { ...m.goodbyes },
      requestLatency: m.latency(),
    };
  }

  /** A one-screen summary, like ZooKeeper's `stat` four-letter word. */
  stat(): string {
    const m = this.metrics();
    const latency = m.requestLatency;
    const avg = latency.count === 0 ? 0 : latency.sum / latency.count;
    const transports = Object.entries(m.connectionsByTransport)
      .map(([name, n]) => `${name} ${n}`)
      .join(", ");
    return [
      "Tether server",
      `Sessions: ${m.sessions} (opened ${m.sessionsOpened}, resumed ${m.sessionsResumed}, expired ${m.sessionsEnded.expired}, closed ${m.sessionsEnded.closed}, overflowed ${m.sessionsEnded["buffer-overflow"]})`,
      `Connections: ${m.connections}${transports ? ` (${transports})` : ""}`,
      `Requests: ${m.requests}, average latency ${avg.toFixed(2)} ms; pings ${m.pings}`,
      `Frames: in ${m.framesIn} (${m.bytesIn} bytes), out ${m.framesOut} (${m.bytesOut} bytes)`,
      `Counters: ${SERVER_COUNTER_NAMES.map((name) => `${name} ${m[name]}`).join(", ")}`,
      `tickTime ${this.store.tickTime} ms, session timeout ${this.store.minSessionTimeout}-${this.store.maxSessionTimeout} ms`,
    ].join("\n");
  }

  /** Sessions by expiry bucket, like ZooKeeper's `dump` (passwords never appear). */
  dump(): string {
    return this.store.dump();
  }

  /**
   * The default store's tracker.
   * @deprecated Use `store` (a `MemorySessionStore` unless the `sessionStore` option says otherwise).
   */
  get tracker(): SessionTracker {
    if (this.store instanceof MemorySessionStore) return this.store.tracker;
    throw new ConfigurationError("this server keeps its sessions in a shared store, not in a SessionTracker");
  }

  /** Every channel's `onClose`: one function for all, not a closure per connection. */
  readonly #channelClosed = (channel: Channel, info: CloseInfo): void => {
    if (info.error instanceof FrameTooLargeError) this.#metrics.counts.oversizedFrames++;
    if (!this.#channels.delete(channel)) return;
    const { peerKey, transport } = channel.connection;
    this.#limits.disconnect(peerKey);
    const open = (this.#connectionsByTransport.get(transport) ?? 1) - 1;
    if (open === 0) this.#connectionsByTransport.delete(transport);
    else this.#connectionsByTransport.set(transport, open);
  };

  /** `Admission.admit`: a socket in a transport's handshake counts as a connection from its accept. */
  #admit(peerKey: string): (() => void) | undefined {
    const refusal = this.#limits.connect(peerKey);
    const refused = this.#closed ? "server closed" : refusal;
    if (refused === undefined) {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        this.#limits.disconnect(peerKey);
      };
    }
    this.#limits.disconnect(peerKey);
    this.logger.warn({ peer: peerKey, limit: refused }, "socket refused before its handshake");
    return undefined;
  }

  /** A session this server carries (in cluster mode, others may carry the rest). */
  getSession(id: string): ServerSession | undefined {
    return this.store.get(id);
  }

  /** The sessions this server carries. */
  sessions(): IterableIterator<ServerSession> {
    return this.store.sessions();
  }

  /**
   * Pushes to session `id` wherever it is carried (another server, in cluster mode). Resolves
   * once the push is recorded; rejects with `SessionExpiredError` if the session is not live.
   */
  push<Topic extends TopicOf<Api>>(id: string, topic: Topic, body: Api["pushes"][Topic]): Promise<void> {
    return this.store.push(id, topic, body);
  }

  /**
   * Stops accepting, says goodbye to every connection and closes it. Finishes in bounded time:
   * each graceful close becomes an abort after the transport's `closeTimeout` (default 5 s).
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Goodbyes first: closing a listener closes its connections, and a Goodbye must go before that.
    if (options.endSessions ?? false) {
      for (const session of [...this.store.sessions()]) session.close();
    }
    const channels = [...this.#channels];
    for (const channel of channels) {
      const handler = channel.pipeline.get(ServerPipeline.session);
      if (handler instanceof ServerSessionHandler) handler.end(CloseCode.GoingAway, "server shutting down");
      else channel.close();
    }
    const listeners = [...this.#listeners].map((l) => l.close());
    await Promise.all([...listeners, ...channels.map((c) => c.connection.closed)]);
    this.#pinger.close();
    await this.store.close();
  }

  #createHost(): SessionHost {
    const options = this.#options;
    return {
      handshakeTimeout: options.handshakeTimeout ?? 10_000,
      maxInFlightPerConnection: options.maxInFlightPerConnection ?? 64,
      maxInFlightPerSession: options.maxInFlightPerSession ?? 64,
      maxOutboundBytes: options.maxOutboundBytes ?? 8 * 1024 * 1024,
      open: async (hello: Hello, connection: ConnectionInfo) => {
        // Before authenticating: a refused peer costs no call to the hook.
        this.#limits.checkSession(connection.peerKey);
        let principal: unknown = null;
        if (options.authenticate !== undefined) {
          try {
            principal = await options.authenticate(hello.credentials, connection);
          } catch (error) {
            if (error instanceof AuthenticationError) throw error;
            const reason = error instanceof Error && error.message ? error.message : "authentication failed";
            throw new AuthenticationError(reason, { cause: error });
          }
          if (principal === false) throw new AuthenticationError("credentials refused");
        }
        const session = await this.store.open(hello.timeout, principal);
        if (!session.ended) this.#limits.sessionOpened(session, connection.peerKey);
        return session;
      },
      resume: (sessionId, password) => this.store.resume(sessionId, password),
      touch: (session) => this.store.touch(session),
      isIdempotent: (op) => this.#handlers.get(op)?.idempotent === true,
      closeByClient: (session) => this.store.end(session, "closed"),
      storeFailed: (error) => this.logger.error({ err: error }, "the session store failed to answer"),
      answerFailed: (request, error) => {
        this.logger.error(
          { err: error, op: request.op, session: request.session.id },
          "a handler's answer cannot be sent; the client got an error answer instead",
        );
        this.emit("error", error);
      },
      now: () => this.clock.now(),
      metrics: this.#metrics,
      pinger: this.#pinger,
      onSessionOpened: (session, resumed) => {
        if (resumed) this.#metrics.counts.sessionsResumed++;
        else this.#metrics.counts.sessionsOpened++;
        this.logger.info(
          { session: session.id, resumed, transport: session.transport, timeout: session.timeout },
          resumed ? "session resumed" : "session opened",
        );
        this.emit("session", session, resumed);
      },
    };
  }
}

/** Creates a server. Add listeners with `listen(transport, address)` or `accept(connection)`. */
export function createServer<Api extends TetherApi = UntypedApi>(
  options: ServerOptions = {},
): TetherServer<Api> {
  return new TetherServer<Api>(options);
}
