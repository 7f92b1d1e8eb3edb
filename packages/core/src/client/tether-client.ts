import { EventEmitter } from "eventemitter3";
import type { AnswerOf, BodyOf, OpName, PushArgs, TetherApi, UntypedApi } from "../api.js";
import { Channel } from "../channel/channel.js";
import { IdleStateHandler } from "../channel/idle-state-handler.js";
import { encodeFrame, encodeFrameForTurn, MessagePackCodec } from "../channel/msgpack-codec.js";
import { type Clock, systemClock, type TimerHandle } from "../clock.js";
import {
  AbortError,
  AuthenticationError,
  ConnectionClosedError,
  ConnectionEndedError,
  FrameTooLargeError,
  InvalidArgumentError,
  ProtocolError,
  RequestError,
  SessionExpiredError,
  TimeoutError,
  UnencodableValueError,
} from "../errors.js";
import { type Logger, stderrLogger } from "../logger.js";
import { type BackoffOptions, backoffDelay, shuffled } from "../session/backoff.js";
import {
  type ClientMessage,
  CloseCode,
  encodeClientMessage,
  MAX_OP_LENGTH,
  MessageType,
  PROTOCOL_VERSION,
  type ServerMessage,
  type Welcome,
} from "../session/protocol.js";
import { type Connection, DEFAULT_MAX_FRAME_BYTES, type Transport } from "../transport/connection.js";
import { type ClientMetrics, ClientMetricsRecorder } from "./client-metrics.js";
import { ClientSessionHandler, type ClientSessionOwner } from "./client-session-handler.js";
import { Handshake, type HandshakeResult } from "./handshake.js";
import { type Heartbeat, heartbeatFor } from "./heartbeat.js";
import { type PendingRequest, PendingRequests, type RequestOptions } from "./pending-requests.js";

export type { RequestOptions } from "./pending-requests.js";

export type ClientState = "connecting" | "connected" | "disconnected" | "expired" | "closed" | "auth-failed";
const FINAL_STATES: ReadonlySet<ClientState> = new Set(["expired", "closed", "auth-failed"]);

export interface ServerAddress {
  transport: Transport;
  address: string;
}

export interface ClientOptions {
  /** Where the session may live; tried in a shuffled order. */
  servers: readonly ServerAddress[];
  /** Requested session timeout T in ms (the server clamps it). Default 30 s. */
  timeout?: number;
  /**
   * Sent to the server's `authenticate` hook. Plain MessagePack only: `createClient` throws
   * `UnencodableValueError` otherwise.
   */
  credentials?: unknown;
  /**
   * Declare the session expired after 4T/3 without hearing from any server, even if none can
   * be reached to say so. Default true.
   */
  clientExpiry?: boolean;
  /**
   * Ask the server to Ping this client when it has been quiet for T/3, and answer each Ping
   * at once: for clients whose timers run late (a browser tab in the background fires them at
   * most once a minute), since their own Pings would come too late to keep the session. The
   * network still wakes such a client at once, so answering costs no timer. Default false.
   */
  serverPings?: boolean;
  /** Delay between rounds of failed attempts. */
  backoff?: BackoffOptions;
  /** Send a standalone acknowledgement after this many unacknowledged pushes. Default 32. */
  ackEvery?: number;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

/** Why the client changed state, where there is a why. */
export interface StateCause {
  /**
   * `disconnected`: what ended the connection (absent for a plain close); `expired`,
   * `auth-failed`, `closed`: the error pending requests fail with.
   */
  error?: Error;
}

export interface ConnectedOptions {
  signal?: AbortSignal;
  /** Reject with `TimeoutError` after this many ms without connecting. */
  timeout?: number;
}

export interface ClientEvents<Api extends TetherApi = UntypedApi> {
  /** Every change of state, never the same state twice in a row, with its cause. */
  state: (state: ClientState, previous: ClientState, cause: StateCause) => void;
  /**
   * An attempt to reach `server` failed (socket.io's `connect_error`): a `DialError`, a
   * `TimeoutError` (no Welcome within T/n), or a `ConnectionEndedError` with the Goodbye's code.
   */
  connectError: (error: Error, server: string) => void;
  /** A server push, in order, each once. */
  push: (...args: PushArgs<Api>) => void;
}

/** A request's arguments after its op: the body (optional when the op takes none) and options. */
export type RequestArgs<Api extends TetherApi, Op extends OpName<Api>> =
  undefined extends BodyOf<Api, Op>
    ? [body?: BodyOf<Api, Op>, options?: RequestOptions]
    : [body: BodyOf<Api, Op>, options?: RequestOptions];

type Outcome = "lost" | "failed" | "final";

/**
 * The session client: keeps one session alive across connections, with its timing from one
 * `Heartbeat` (docs/PROTOCOL.md, "Liveness"). Its parts: this connection loop and the session's
 * state, the `PendingRequests` that survive reconnects, and a `ClientSessionHandler` in each
 * connection's pipeline.
 */
export class TetherClient<Api extends TetherApi = UntypedApi> extends EventEmitter<ClientEvents<Api>> {
  readonly clock: Clock;
  readonly #options: ClientOptions;
  readonly #random: () => number;
  readonly #logger: Logger;
  #state: ClientState = "connecting";
  #sessionId: string | null = null;
  #password: Uint8Array | null = null;
  /** The timing for the negotiated T (the requested one until the first Welcome). */
  #heartbeat: Heartbeat;
  #lastPushSeq = 0;
  #unackedPushes = 0;
  readonly #pending: PendingRequests;
  readonly #metrics: ClientMetricsRecorder;
  /** Whether the server of this connection takes Cancel (its Welcome said so). */
  #serverCancels = false;
  /** Requests given up while disconnected: cancelled after the next Welcome. */
  readonly #toCancel = new Set<number>();
  /** What each connection's `ClientSessionHandler` reports to this client. */
  readonly #sessionOwner: ClientSessionOwner;
  #channel: Channel | undefined;
  /** When a server was last heard from, as of the last disconnect (for client-side expiry). */
  #lastHeard: number;
  /** The largest frame the server takes (its Welcome said), within this client's own limit. */
  #peerMaxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  /** The connected channel's idle handler: it times every frame read (no second clock read). */
  #idle: IdleStateHandler | undefined;
  #expiryTimer: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  readonly #stop = new AbortController();
  #closing: Promise<void> | undefined;
  readonly #settled: Promise<void>;

  constructor(options: ClientOptions) {
    super();
    if (options.servers.length === 0) throw new InvalidArgumentError("a client needs at least one server");
    // Sent in every Hello: ones plain MessagePack cannot carry are refused now, not at each attempt.
    if (options.credentials !== undefined) encodeFrame(options.credentials);
    this.#options = options;
    this.clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? stderrLogger(this.clock);
    this.#heartbeat = heartbeatFor(options.timeout ?? 30_000, options.servers.length);
    this.#metrics = new ClientMetricsRecorder(this.clock, this.#state);
    this.#pending = new PendingRequests(this.clock, (seq, outcome, ms) => {
      this.#metrics.settled(outcome, ms);
      if (outcome === "abandoned") this.#cancel(seq);
    });
    this.#sessionOwner = {
      logger: this.#logger,
      welcomed: () => {
        this.#lastHeard = this.clock.now();
      },
      message: (message) => this.#onMessage(message),
      writerIdle: () => this.#sendAcks(MessageType.Ping),
    };
    this.#lastHeard = this.clock.now();
    this.#settled = this.#run();
  }

  get state(): ClientState {
    return this.#state;
  }

  get sessionId(): string | null {
    return this.#sessionId;
  }

  /** The negotiated session timeout (the requested one until the first Welcome). */
  get sessionTimeout(): number {
    return this.#heartbeat.sessionTimeout;
  }

  /** Counters for requests, reconnects and time in each state (as `server.metrics()`). */
  metrics(): ClientMetrics {
    return this.#metrics.snapshot();
  }

  /** Requests sent and not yet answered. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /**
   * Resolves once connected; rejects if the client reaches a final state first, or with
   * `TimeoutError`/`AbortError` at the caller's `timeout` or `signal` (the client goes on trying).
   */
  connected(options: ConnectedOptions = {}): Promise<void> {
    if (this.#state === "connected") return Promise.resolve();
    if (FINAL_STATES.has(this.#state)) return Promise.reject(this.#finalError());
    const { signal, timeout } = options;
    if (signal?.aborted) return Promise.reject(new AbortError("wait aborted", { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const done = () => {
        this.off("state", onState);
        signal?.removeEventListener("abort", onAbort);
        if (timer !== undefined) this.clock.clearTimeout(timer);
      };
      const onState = (state: ClientState) => {
        if (state === "connected") resolve();
        else if (FINAL_STATES.has(state)) reject(this.#finalError());
        else return;
        done();
      };
      const onAbort = () => {
        done();
        reject(new AbortError("wait aborted", { cause: signal?.reason }));
      };
      this.on("state", onState);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeout !== undefined) {
        timer = this.clock.setTimeout(() => {
          done();
          reject(new TimeoutError(`not connected within ${timeout} ms (state ${this.#state})`));
        }, timeout);
      }
    });
  }

  /**
   * Sends a request and resolves with the reply. It survives disconnects (re-sent on resume,
   * run at most once by the server) and ends in exactly one outcome: the reply, a
   * `RequestError`, the caller's `TimeoutError`/`AbortError`, or `SessionExpiredError`.
   */
  request<Op extends OpName<Api>>(op: Op, ...args: RequestArgs<Api, Op>): Promise<AnswerOf<Api, Op>> {
    const [body, options = {}] = args as [unknown, RequestOptions?];
    return this.#request(op, body, options) as Promise<AnswerOf<Api, Op>>;
  }

  #request(op: string, body: unknown, options: RequestOptions): Promise<unknown> {
    if (FINAL_STATES.has(this.#state)) return Promise.reject(this.#finalError());
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AbortError("request aborted", { cause: signal.reason }));
    if (op.length > MAX_OP_LENGTH)
      return Promise.reject(new InvalidArgumentError(`op names are at most ${MAX_OP_LENGTH} characters`));
    this.#metrics.requested();
    const { entry, answer } = this.#pending.add(op, body, options);
    if (this.#state === "connected") this.#sendRequest(entry);
    return answer;
  }

  /** Closes the session on the server (its expire listeners run at once) and stops. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (FINAL_STATES.has(this.#state)) return;
      const channel = this.#channel;
      if (this.#state === "connected" && channel !== undefined) {
        this.#send({ type: MessageType.CloseSession });
        // Wait for the server's Goodbye (it closes the connection), bounded by one connect timeout.
        let timer: TimerHandle | undefined;
        const bound = new Promise<void>((resolve) => {
          timer = this.clock.setTimeout(resolve, this.#heartbeat.connectTimeout);
        });
        await Promise.race([channel.connection.closed, bound]);
        if (timer !== undefined) this.clock.clearTimeout(timer);
      }
      this.#finish("closed", new AbortError("the client was closed"));
      await this.#settled;
    })();
    return this.#closing;
  }

  // ---- connection loop -------------------------------------------------------------------

  async #run(): Promise<void> {
    const servers = shuffled(this.#options.servers, this.#random);
    let next = 0;
    let failures = 0;
    let round = 0;
    while (!this.#stopped) {
      const server = servers[next % servers.length] as ServerAddress;
      next++; // after a drop, the next attempt goes to another server first
      const started = this.clock.now();
      const outcome = await this.#attempt(server);
      if (outcome === "final" || this.#stopped) break;
      // A connection that lasted is a success: try the next server at once. One lost almost
      // as soon as it opened (a server that welcomes and drops) counts as a failure, so a
      // crash-looping server gets backoff rather than a tight reconnect loop.
      if (outcome === "lost" && this.clock.now() - started > this.#heartbeat.connectTimeout) {
        failures = 0;
        round = 0;
        continue;
      }
      if (++failures >= servers.length) {
        failures = 0;
        // Never longer than a ping interval: a session waits for its client no longer than T.
        const backoff = backoffDelay(round++, this.#options.backoff ?? {}, this.#random);
        await this.#sleep(
          this.#sessionId === null ? backoff : Math.min(backoff, this.#heartbeat.pingInterval),
        );
      }
    }
    this.#clearExpiryTimer();
  }

  get #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  async #attempt(server: ServerAddress): Promise<Outcome> {
    // T/n for the whole attempt, dial and handshake together, so every server gets its turn.
    const deadline = this.clock.now() + this.#heartbeat.connectTimeout;
    let connection: Connection;
    try {
      connection = await server.transport.dial(server.address, {
        connectTimeout: this.#heartbeat.connectTimeout,
        signal: this.#stop.signal,
      });
    } catch (error) {
      this.#logger.debug({ err: error, server: server.address }, "connect attempt failed");
      this.#tell("connectError", error as Error, server.address);
      return "failed";
    }
    if (this.#stopped) {
      connection.abort();
      return "final";
    }
    const channel = new Channel(connection, { clock: this.clock, logger: this.#logger });
    const handshake = new Handshake();
    const session = new ClientSessionHandler(handshake, this.#sessionOwner);
    channel.pipeline.addLast("codec", new MessagePackCodec()).addLast("session", session);
    this.#channel = channel;
    channel.start();
    const helloSentAt = this.clock.now();
    this.#send({
      type: MessageType.Hello,
      version: PROTOCOL_VERSION,
      timeout: this.#options.timeout ?? 30_000,
      sessionId: this.#sessionId,
      password: this.#password,
      lastPushSeq: this.#lastPushSeq,
      credentials: this.#options.credentials ?? null,
      maxFrameBytes: connection.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      serverPings: this.#options.serverPings === true,
    });
    const timer = this.clock.setTimeout(() => handshake.fail("timeout"), Math.max(0, deadline - helloSentAt));
    const result = await handshake.result;
    this.clock.clearTimeout(timer);
    if (result.kind !== "welcome") {
      this.#channel = undefined;
      connection.abort();
      const outcome = this.#onRefused(result);
      if (outcome === "failed") this.#tell("connectError", refusalError(result), server.address);
      return outcome;
    }
    this.#onWelcome(result.welcome, channel, helloSentAt);
    const info = await Promise.race([connection.closed, handshake.lost]);
    this.#channel = undefined;
    // The Welcome was heard, even if the connection closed before the idle handler started.
    this.#lastHeard = Math.max(this.#lastHeard, this.#idle?.lastRead ?? 0);
    this.#idle = undefined;
    if (FINAL_STATES.has(this.#state)) return "final";
    this.#logger.info({ session: this.#sessionId, error: info.error?.message }, "disconnected");
    this.#setState("disconnected", info.error === undefined ? {} : { error: info.error });
    this.#armExpiryTimer();
    return "lost";
  }

  #onRefused(result: HandshakeResult): Outcome {
    if (result.kind === "goodbye") {
      if (result.code === CloseCode.SessionExpired) {
        this.#finish("expired", new SessionExpiredError(`session ${this.#sessionId} expired`));
        return "final";
      }
      if (result.code === CloseCode.AuthFailed) {
        this.#finish("auth-failed", new AuthenticationError(result.reason));
        return "final";
      }
      if (result.code === CloseCode.GoingAway && this.#sessionId !== null) {
        // A server answered and could not say (its store is out, or it is shutting down):
        // the cluster is there, and only it decides that the session ended. Client-side
        // expiry counts from here, as it would from any word of a server.
        this.#lastHeard = this.clock.now();
        this.#clearExpiryTimer();
        this.#armExpiryTimer();
      }
    }
    return "failed";
  }

  #onWelcome(welcome: Welcome, channel: Channel, helloSentAt: number): void {
    if (this.#sessionId !== null && welcome.sessionId !== this.#sessionId) {
      // A server that answers a resume with another session broke the protocol.
      channel.connection.abort(new ProtocolError("Welcome for a different session"));
      return;
    }
    this.#sessionId = welcome.sessionId;
    this.#password = welcome.password;
    this.#heartbeat = heartbeatFor(welcome.timeout, this.#options.servers.length);
    this.#peerMaxFrameBytes = Math.min(
      welcome.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      channel.connection.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    );
    this.#clearExpiryTimer();
    // The Hello was a send: the first Ping is due T/3 after it, not T/3 after the Welcome.
    this.#idle = new IdleStateHandler({
      readerIdleMs: this.#heartbeat.readTimeout,
      writerIdleMs: this.#heartbeat.pingInterval,
      lastWriteAt: helloSentAt,
    });
    channel.pipeline.addBefore("session", "idle", this.#idle);
    this.#setState("connected");
    this.#serverCancels = welcome.cancels === true;
    if (this.#serverCancels) for (const seq of this.#toCancel) this.#send({ type: MessageType.Cancel, seq });
    this.#toCancel.clear();
    for (const entry of this.#pending.values()) this.#sendRequest(entry);
  }

  #onMessage(message: ServerMessage): void {
    switch (message.type) {
      case MessageType.Pong:
        return;
      case MessageType.Ping:
        this.#sendAcks(MessageType.Ack); // any frame answers it; this one also acknowledges
        return;
      case MessageType.Response:
        this.#pending.settle(message.seq, undefined, message.body);
        return;
      case MessageType.ErrorResponse:
        this.#pending.settle(
          message.seq,
          new RequestError(message.code, message.message),
          undefined,
          "error-response",
        );
        return;
      case MessageType.Push:
        this.#onPush(message.seq, message.topic, message.body);
        return;
      case MessageType.Goodbye:
        this.#onGoodbye(message.code, message.reason);
        return;
      case MessageType.Welcome:
        throw new ProtocolError("second Welcome");
    }
  }

  #onPush(seq: number, topic: string, body: unknown): void {
    if (seq <= this.#lastPushSeq) return; // a replay of one we have
    if (seq !== this.#lastPushSeq + 1)
      throw new ProtocolError(`push ${seq} after ${this.#lastPushSeq}: a gap`);
    this.#lastPushSeq = seq;
    if (++this.#unackedPushes >= (this.#options.ackEvery ?? 32)) this.#sendAcks(MessageType.Ack);
    this.#tell("push", topic, body);
  }

  #onGoodbye(code: number, reason: string): void {
    if (code === CloseCode.SessionExpired || code === CloseCode.BufferOverflow) {
      this.#finish("expired", new SessionExpiredError(`session ended by the server: ${reason}`));
    } else if (code === CloseCode.SessionClosed) {
      this.#finish(
        this.#closing === undefined ? "expired" : "closed",
        new SessionExpiredError("session closed"),
      );
    } else {
      // GoingAway, SessionMoved, ProtocolError...: this connection ends, the session lives on.
      this.#channel?.connection.abort(new ConnectionEndedError(code, reason));
    }
  }

  // ---- requests ------------------------------------------------------------------------------

  #sendRequest(entry: PendingRequest): void {
    const channel = this.#channel;
    if (channel === undefined || !channel.isOpen) return;
    this.#unackedPushes = 0;
    let frame: Uint8Array;
    try {
      // Sent and not kept (a resend encodes the request again): memory reused after the turn.
      frame = encodeFrameForTurn(
        encodeClientMessage({
          type: MessageType.Request,
          seq: entry.seq,
          op: entry.op,
          body: entry.body,
          pushAck: this.#lastPushSeq,
          responseAck: this.#pending.responseAck(),
        }),
      );
    } catch (error) {
      // A body plain MessagePack cannot carry fails its own call; nothing was sent.
      if (!(error instanceof UnencodableValueError)) throw error;
      this.#pending.settle(entry.seq, error);
      return;
    }
    // So does one larger than the server takes: sent, it would cost the connection, again at each resume.
    if (frame.byteLength > this.#peerMaxFrameBytes) {
      this.#pending.settle(entry.seq, new FrameTooLargeError(frame.byteLength, this.#peerMaxFrameBytes));
      return;
    }
    channel.write(frame);
  }

  /**
   * The caller gave request `seq` up: tell the server, so its handler stops (a server from
   * before Cancel is never sent one). While disconnected, after the next Welcome.
   */
  #cancel(seq: number): void {
    if (FINAL_STATES.has(this.#state)) return;
    if (this.#state !== "connected") this.#toCancel.add(seq);
    else if (this.#serverCancels) this.#send({ type: MessageType.Cancel, seq });
  }

  /** A Ping or an Ack: both carry the acknowledgements and nothing else. */
  #sendAcks(type: typeof MessageType.Ping | typeof MessageType.Ack): void {
    this.#unackedPushes = 0;
    this.#send({ type, pushAck: this.#lastPushSeq, responseAck: this.#pending.responseAck() });
  }

  #send(message: ClientMessage): void {
    const channel = this.#channel;
    if (channel === undefined || !channel.isOpen) return;
    // Encoded here, not in the codec, so a body that cannot be encoded fails its own call.
    channel.write(encodeFrame(encodeClientMessage(message)));
  }

  // ---- states and endings --------------------------------------------------------------------

  #setState(state: ClientState, cause: StateCause = {}): void {
    const previous = this.#state;
    if (previous === state || FINAL_STATES.has(previous)) return;
    this.#state = state;
    this.#metrics.entered(state);
    this.#tell("state", state, previous, cause);
  }

  /**
   * Emits to the user's listeners. One that throws is logged and cannot break the client (or
   * crash the process from inside its loop); as with any emitter, listeners after it miss
   * that event.
   */
  #tell<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    // Typed for the untyped API: a push's topic and body are whatever the server sent.
    try {
      (this.emit as (event: E, ...args: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      this.#logger.error({ err: error, event }, `a "${event}" listener threw`);
    }
  }

  /** Enters a final state: fails every pending request with `error` and stops the loop. */
  #finish(state: ClientState, error: Error): void {
    if (FINAL_STATES.has(this.#state)) return;
    this.#setState(state, { error });
    this.#stop.abort();
    this.#wake?.();
    this.#clearExpiryTimer();
    this.#pending.failAll(error);
    this.#toCancel.clear(); // no connection will come to send them on
    const channel = this.#channel;
    this.#channel = undefined;
    if (channel !== undefined) void channel.connection.close();
  }

  #finalError(): Error {
    if (this.#state === "expired") return new SessionExpiredError(`session ${this.#sessionId} expired`);
    if (this.#state === "auth-failed") return new AuthenticationError("authentication failed");
    return new AbortError("the client was closed");
  }

  /** Client-side expiry: 4T/3 after we last heard from a server, unless connected again. */
  #armExpiryTimer(): void {
    if (this.#options.clientExpiry === false || this.#sessionId === null || this.#expiryTimer !== undefined)
      return;
    const deadline = this.#lastHeard + this.#heartbeat.expiryTimeout;
    this.#expiryTimer = this.clock.setTimeout(() => {
      this.#expiryTimer = undefined;
      if (this.#state !== "connected") {
        this.#finish(
          "expired",
          new SessionExpiredError("no server heard from for 4T/3: session presumed expired"),
        );
      }
    }, deadline - this.clock.now());
  }

  #clearExpiryTimer(): void {
    if (this.#expiryTimer !== undefined) this.clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
  }

  /** Waits `ms` on the client's clock; close() can cut it short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        this.clock.clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

/** Why an attempt that reached a server did not become a connection. */
function refusalError(result: Exclude<HandshakeResult, { kind: "welcome" }>): Error {
  if (result.kind === "goodbye") return new ConnectionEndedError(result.code, result.reason);
  if (result.reason === "timeout") return new TimeoutError("no Welcome within the attempt's T/n");
  return new ConnectionClosedError(`the connection closed before a Welcome: ${result.reason}`);
}

/** Creates a client and starts connecting at once. */
export function createClient<Api extends TetherApi = UntypedApi>(options: ClientOptions): TetherClient<Api> {
  return new TetherClient<Api>(options);
}
