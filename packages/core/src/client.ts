import { EventEmitter } from "eventemitter3";
import { Channel } from "./channel/channel.js";
import type { ChannelHandler } from "./channel/handler.js";
import { IdleStateHandler, isIdleStateEvent } from "./channel/idle-state-handler.js";
import { encodeFrame, MessagePackCodec } from "./channel/msgpack-codec.js";
import type { HandlerContext } from "./channel/pipeline.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import {
  AbortError,
  AuthenticationError,
  ConnectionEndedError,
  FrameTooLargeError,
  InvalidArgumentError,
  ProtocolError,
  RequestError,
  SessionExpiredError,
  TimeoutError,
  UnencodableValueError,
} from "./errors.js";
import { type Logger, silentLogger } from "./logger.js";
import { type BackoffOptions, backoffDelay, shuffled } from "./session/backoff.js";
import {
  type ClientMessage,
  CloseCode,
  decodeServerMessage,
  encodeClientMessage,
  MAX_OP_LENGTH,
  MessageType,
  PROTOCOL_VERSION,
  type ServerMessage,
  type Welcome,
} from "./session/protocol.js";
import { SeqIndex } from "./session/seq-index.js";
import {
  type CloseInfo,
  type Connection,
  DEFAULT_MAX_FRAME_BYTES,
  type Transport,
} from "./transport/connection.js";

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
  /** Delay between rounds of failed attempts. */
  backoff?: BackoffOptions;
  /** Send a standalone acknowledgement after this many unacknowledged pushes. Default 32. */
  ackEvery?: number;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Give up after this many ms with `TimeoutError` (the server may still run it, once). */
  timeout?: number;
}

export interface ClientEvents {
  /** Every change of state, never the same state twice in a row. */
  state: (state: ClientState, previous: ClientState) => void;
  /** A server push, in order, each once. */
  push: (topic: string, body: unknown) => void;
}

interface PendingRequest {
  seq: number;
  op: string;
  body: unknown;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  cleanup: (() => void) | undefined;
}

type Outcome = "lost" | "failed" | "final";

/**
 * The session client: keeps one session alive across connections. Heartbeat (docs/PROTOCOL.md, "Liveness"):
 * with T the negotiated timeout, nothing heard for 2T/3 means the connection is dead; a ping
 * goes out after T/3 without sending; each attempt gets T/n to connect; after 4T/3 without
 * hearing from anyone the session is expired locally. Requests survive reconnects.
 */
export class TetherClient extends EventEmitter<ClientEvents> {
  readonly clock: Clock;
  readonly #options: ClientOptions;
  readonly #random: () => number;
  readonly #logger: Logger;
  #state: ClientState = "connecting";
  #sessionId: string | null = null;
  #password: Uint8Array | null = null;
  #timeout: number;
  #lastPushSeq = 0;
  #unackedPushes = 0;
  #nextSeq = 0;
  /** Requests awaiting their answer, by seq (a map's churn fed V8's old generation: see SeqIndex). */
  readonly #pending = new SeqIndex<PendingRequest>();
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
    this.#logger = options.logger ?? silentLogger;
    this.#timeout = options.timeout ?? 30_000;
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
    return this.#timeout;
  }

  /** Requests sent and not yet answered. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** Resolves once connected; rejects if the client reaches a final state first. */
  connected(): Promise<void> {
    if (this.#state === "connected") return Promise.resolve();
    if (FINAL_STATES.has(this.#state)) return Promise.reject(this.#finalError());
    return new Promise((resolve, reject) => {
      const onState = (state: ClientState) => {
        if (state === "connected") resolve();
        else if (FINAL_STATES.has(state)) reject(this.#finalError());
        else return;
        this.off("state", onState);
      };
      this.on("state", onState);
    });
  }

  /**
   * Sends a request and resolves with the reply. It survives disconnects (re-sent on resume,
   * run at most once by the server) and ends in exactly one outcome: the reply, a
   * `RequestError`, the caller's `TimeoutError`/`AbortError`, or `SessionExpiredError`.
   */
  request(op: string, body?: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (FINAL_STATES.has(this.#state)) return Promise.reject(this.#finalError());
    const { signal, timeout } = options;
    if (signal?.aborted) return Promise.reject(new AbortError("request aborted", { cause: signal.reason }));
    if (op.length > MAX_OP_LENGTH)
      return Promise.reject(new InvalidArgumentError(`op names are at most ${MAX_OP_LENGTH} characters`));
    return new Promise((resolve, reject) => {
      const seq = ++this.#nextSeq;
      const entry: PendingRequest = { seq, op, body, resolve, reject, cleanup: undefined };
      // Timers and abort listeners only for requests that asked for them: the hot path allocates
      // nothing else.
      if (timeout !== undefined || signal !== undefined) {
        const timer =
          timeout === undefined
            ? undefined
            : this.clock.setTimeout(
                () =>
                  this.#settle(seq, new TimeoutError(`request "${op}" got no reply within ${timeout} ms`)),
                timeout,
              );
        const onAbort = () => this.#settle(seq, new AbortError("request aborted", { cause: signal?.reason }));
        signal?.addEventListener("abort", onAbort, { once: true });
        entry.cleanup = () => {
          if (timer !== undefined) this.clock.clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        };
      }
      this.#pending.set(seq, entry);
      if (this.#state === "connected") this.#sendRequest(entry);
    });
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
          timer = this.clock.setTimeout(resolve, this.#connectTimeout());
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
      if (outcome === "lost" && this.clock.now() - started > this.#connectTimeout()) {
        failures = 0;
        round = 0;
        continue;
      }
      if (++failures >= servers.length) {
        failures = 0;
        await this.#sleep(backoffDelay(round++, this.#options.backoff ?? {}, this.#random));
      }
    }
    this.#clearExpiryTimer();
  }

  get #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #connectTimeout(): number {
    return this.#timeout / this.#options.servers.length;
  }

  async #attempt(server: ServerAddress): Promise<Outcome> {
    // T/n for the whole attempt, dial and handshake together, so every server gets its turn.
    const deadline = this.clock.now() + this.#connectTimeout();
    let connection: Connection;
    try {
      connection = await server.transport.dial(server.address, {
        connectTimeout: this.#connectTimeout(),
        signal: this.#stop.signal,
      });
    } catch (error) {
      this.#logger.debug({ err: error, server: server.address }, "connect attempt failed");
      return "failed";
    }
    if (this.#stopped) {
      connection.abort();
      return "final";
    }
    const channel = new Channel(connection, { clock: this.clock, logger: this.#logger });
    const handshake = new Handshake();
    channel.pipeline.addLast("codec", new MessagePackCodec()).addLast("session", this.#handler(handshake));
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
    });
    const timer = this.clock.setTimeout(() => handshake.fail("timeout"), Math.max(0, deadline - helloSentAt));
    const result = await handshake.result;
    this.clock.clearTimeout(timer);
    if (result.kind !== "welcome") {
      this.#channel = undefined;
      connection.abort();
      return this.#onRefused(result);
    }
    this.#onWelcome(result.welcome, channel, helloSentAt);
    const info = await Promise.race([connection.closed, handshake.lost]);
    this.#channel = undefined;
    // The Welcome was heard, even if the connection closed before the idle handler started.
    this.#lastHeard = Math.max(this.#lastHeard, this.#idle?.lastRead ?? 0);
    this.#idle = undefined;
    if (FINAL_STATES.has(this.#state)) return "final";
    this.#logger.info({ session: this.#sessionId, error: info.error?.message }, "disconnected");
    this.#setState("disconnected");
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
    this.#timeout = welcome.timeout;
    this.#peerMaxFrameBytes = Math.min(
      welcome.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      channel.connection.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    );
    this.#clearExpiryTimer();
    const t = welcome.timeout;
    // The Hello was a send: the first Ping is due T/3 after it, not T/3 after the Welcome.
    this.#idle = new IdleStateHandler({
      readerIdleMs: (2 * t) / 3,
      writerIdleMs: t / 3,
      lastWriteAt: helloSentAt,
    });
    channel.pipeline.addBefore("session", "idle", this.#idle);
    this.#setState("connected");
    for (const entry of this.#pending.values()) this.#sendRequest(entry);
  }

  #handler(handshake: Handshake): ChannelHandler {
    return {
      channelRead: (_ctx: HandlerContext, value: unknown) => {
        const message = decodeServerMessage(value);
        if (!handshake.done) {
          if (message.type === MessageType.Welcome) {
            this.#lastHeard = this.clock.now();
            handshake.welcome(message);
          } else if (message.type === MessageType.Goodbye) handshake.goodbye(message.code, message.reason);
          else throw new ProtocolError("expected Welcome");
          return;
        }
        this.#onMessage(message);
      },
      userEvent: (ctx: HandlerContext, event: unknown) => {
        if (!isIdleStateEvent(event)) return;
        if (event.state === "writer-idle") {
          this.#sendAcks(MessageType.Ping);
          return;
        }
        // Dead, as far as we can tell. Close gracefully (what we sent still reaches a server
        // that was only stalled) but move on at once instead of waiting for the close.
        handshake.lose({ local: true, error: new TimeoutError("nothing heard from the server for 2T/3") });
        void ctx.channel.connection.close();
      },
      channelInactive: (_ctx: HandlerContext, info: CloseInfo) =>
        handshake.fail(info.error?.message ?? "closed"),
      exceptionCaught: (ctx: HandlerContext, error: Error) => {
        this.#logger.warn({ err: error }, "protocol error from the server");
        ctx.channel.connection.abort(error);
      },
    };
  }

  #onMessage(message: ServerMessage): void {
    switch (message.type) {
      case MessageType.Pong:
        return;
      case MessageType.Response:
        this.#settle(message.seq, undefined, message.body);
        return;
      case MessageType.ErrorResponse:
        this.#settle(message.seq, new RequestError(message.code, message.message));
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
    this.emit("push", topic, body);
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
      frame = encodeFrame(
        encodeClientMessage({
          type: MessageType.Request,
          seq: entry.seq,
          op: entry.op,
          body: entry.body,
          pushAck: this.#lastPushSeq,
          responseAck: this.#responseAck(),
        }),
      );
    } catch (error) {
      // A body plain MessagePack cannot carry fails its own call; nothing was sent.
      if (!(error instanceof UnencodableValueError)) throw error;
      this.#settle(entry.seq, error);
      return;
    }
    // So does one larger than the server takes: sent, it would cost the connection, again at each resume.
    if (frame.byteLength > this.#peerMaxFrameBytes) {
      this.#settle(entry.seq, new FrameTooLargeError(frame.byteLength, this.#peerMaxFrameBytes));
      return;
    }
    channel.write(frame);
  }

  #settle(seq: number, error: Error | undefined, value?: unknown): void {
    const entry = this.#pending.delete(seq);
    if (entry === undefined) return; // answered already, or given up by the caller
    entry.cleanup?.();
    if (error === undefined) entry.resolve(value);
    else entry.reject(error);
  }

  /** A Ping or an Ack: both carry the acknowledgements and nothing else. */
  #sendAcks(type: typeof MessageType.Ping | typeof MessageType.Ack): void {
    this.#unackedPushes = 0;
    this.#send({ type, pushAck: this.#lastPushSeq, responseAck: this.#responseAck() });
  }

  /** Every answer below the oldest request still waiting has arrived (requests wait in seq order). */
  #responseAck(): number {
    return this.#pending.first()?.seq ?? this.#nextSeq + 1;
  }

  #send(message: ClientMessage): void {
    const channel = this.#channel;
    if (channel === undefined || !channel.isOpen) return;
    // Encoded here, not in the codec, so a body that cannot be encoded fails its own call.
    channel.write(encodeFrame(encodeClientMessage(message)));
  }

  // ---- states and endings --------------------------------------------------------------------

  #setState(state: ClientState): void {
    const previous = this.#state;
    if (previous === state || FINAL_STATES.has(previous)) return;
    this.#state = state;
    this.emit("state", state, previous);
  }

  /** Enters a final state: fails every pending request with `error` and stops the loop. */
  #finish(state: ClientState, error: Error): void {
    if (FINAL_STATES.has(this.#state)) return;
    this.#setState(state);
    this.#stop.abort();
    this.#wake?.();
    this.#clearExpiryTimer();
    for (const entry of this.#pending.values()) this.#settle(entry.seq, error);
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
    const deadline = this.#lastHeard + (4 * this.#timeout) / 3;
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

type HandshakeResult =
  | { kind: "welcome"; welcome: Welcome }
  | { kind: "goodbye"; code: number; reason: string }
  | { kind: "failed"; reason: string };

/**
 * One connection attempt's milestones: the outcome of its Hello (a Welcome, a Goodbye or a
 * failure, settled once), and `lost`, settled when the client gives the connection up.
 */
class Handshake {
  done = false;
  readonly result: Promise<HandshakeResult>;
  readonly lost: Promise<CloseInfo>;
  #resolve!: (result: HandshakeResult) => void;
  #lose!: (info: CloseInfo) => void;

  constructor() {
    this.result = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.lost = new Promise((resolve) => {
      this.#lose = resolve;
    });
  }
  lose(info: CloseInfo): void {
    this.#lose(info);
  }
  welcome(welcome: Welcome): void {
    this.#settle({ kind: "welcome", welcome });
  }
  goodbye(code: number, reason: string): void {
    this.#settle({ kind: "goodbye", code, reason });
  }
  fail(reason: string): void {
    this.#settle({ kind: "failed", reason });
  }
  #settle(result: HandshakeResult): void {
    if (this.done) return;
    this.done = true;
    this.#resolve(result);
  }
}

/** Creates a client and starts connecting at once. */
export function createClient(options: ClientOptions): TetherClient {
  return new TetherClient(options);
}
