import type { ChannelHandler } from "../channel/handler.js";
import { INBOUND_PROGRESS, WRITABLE } from "../channel/handler.js";
import { encodeFrame, encodeFrameForTurn, encodeFrameToKeep } from "../channel/msgpack-codec.js";
import type { HandlerContext } from "../channel/pipeline.js";
import { HOP_SLACK_MS, runWhenOnTime, type TimerHandle } from "../clock.js";
import { copyBytes } from "../copy-bytes.js";
import {
  AuthenticationError,
  FrameTooLargeError,
  ProtocolError,
  SessionMovedError,
  TooManySessionsError,
} from "../errors.js";
import type { MetricsRecorder } from "../server-metrics.js";
import { ServerPipeline } from "../server-pipeline.js";
import { type CloseInfo, DEFAULT_MAX_FRAME_BYTES } from "../transport/connection.js";
import { IncomingRequest, type RequestOwner } from "./incoming-request.js";
import { OutgoingReply } from "./outgoing-reply.js";
import {
  type ClientMessage,
  CloseCode,
  decodeClientMessage,
  encodeServerMessage,
  type Hello,
  MessageType,
  PROTOCOL_VERSION,
  RequestErrorCode,
  type ServerMessage,
} from "./protocol.js";
import type { PingTarget, ServerPinger } from "./server-pinger.js";
import type { ResponseMessage, ServerSession, SessionLink } from "./server-session.js";

/** What the per-connection handler needs from the server. */
export interface SessionHost {
  readonly handshakeTimeout: number;
  readonly maxInFlightPerConnection: number;
  /** Requests running in one session, across its connections, above which reading pauses. */
  readonly maxInFlightPerSession: number;
  readonly maxOutboundBytes: number;
  /**
   * Opens a session after authentication. Rejects with `AuthenticationError` to refuse the
   * client (auth-failed, final), `TooManySessionsError` over a session limit (4012), or with
   * anything else when the store cannot answer (4007).
   */
  open(
    hello: Hello,
    connection: { transport: string; remoteAddress: string; peerKey: string },
  ): Promise<ServerSession>;
  /** The live session for a resume, or undefined (unknown, ended or wrong password alike). */
  resume(
    sessionId: string,
    password: Uint8Array,
  ): ServerSession | undefined | Promise<ServerSession | undefined>;
  /** Every frame of a session counts as a sign of life; false when it is already ending. */
  touch(session: ServerSession): boolean;
  /** Whether `op` is registered idempotent (`server.handle(op, fn, { idempotent: true })`). */
  isIdempotent(op: string): boolean;
  closeByClient(session: ServerSession): void;
  /** A shared session store failed to answer; the connection is ended with GoingAway. */
  storeFailed(error: unknown): void;
  /** A handler's answer could not be sent (unencodable, or over the client's frame limit); the client got an error answer. */
  answerFailed(request: IncomingRequest, error: unknown): void;
  onSessionOpened(session: ServerSession, resumed: boolean): void;
  /** The server's counters (`server.metrics()`): incremented in place, nothing allocated per frame. */
  readonly metrics: MetricsRecorder;
  /** Pings the connections whose Hello asked for it (`serverPings`) when they are quiet. */
  readonly pinger: ServerPinger;
  readonly now: () => number;
}

type State = "handshake" | "authenticating" | "open" | "ended";

/**
 * The Pong, encoded once: it is the commonest message a server sends to idle clients, and the
 * codec passes ready frames through. (Plain MessagePack, as the codec writes.)
 */
const PONG_FRAME: Uint8Array = copyBytes(encodeFrame(encodeServerMessage({ type: MessageType.Pong })));
/** The server's own Ping (for clients that asked), encoded once as well. */
const PING_FRAME: Uint8Array = copyBytes(encodeFrame(encodeServerMessage({ type: MessageType.Ping })));

/**
 * The server's session protocol on one connection: handshake (new session, resume, auth),
 * pings, acknowledgements, requests handed up the pipeline as `IncomingRequest`s, and the
 * Goodbye + close for every way a connection ends. It implements the session's `SessionLink`.
 */
export class ServerSessionHandler implements ChannelHandler, SessionLink, RequestOwner {
  #state: State = "handshake";
  #ctx: HandlerContext | undefined;
  #dispatch: HandlerContext | undefined;
  #session: ServerSession | undefined;
  #handshakeTimer: TimerHandle | undefined;
  /** When the last Pong for a request still arriving went out. */
  #progressPongAt = Number.NEGATIVE_INFINITY;
  /** This connection's requests running (begun and not settled). */
  #inFlight = 0;
  /** This connection's requests a shared store has not yet decided on. */
  #admitting = 0;
  #readingPaused = false;
  /**
   * Inside a read batch (the frames of one read, ended by `channelReadComplete`): its first
   * frame touched the session (`#batchLive` says if it was live).
   */
  #inBatch = false;
  /** Set when the client asked for server Pings: what the pinger watches for this connection. */
  #pingTarget: PingTarget | undefined;
  #batchLive = false;
  /** The server clock, read at most once per batch. */
  #batchTime: number | undefined;

  constructor(private readonly host: SessionHost) {}

  get transport(): string {
    return this.#ctx?.channel.connection.transport ?? "unknown";
  }

  get remoteAddress(): string {
    return this.#ctx?.channel.connection.remoteAddress ?? "unknown";
  }

  get session(): ServerSession | undefined {
    return this.#session;
  }

  handlerAdded(ctx: HandlerContext): void {
    this.#ctx = ctx;
  }

  channelActive(ctx: HandlerContext): void {
    const clock = ctx.channel.clock;
    // The deadline runs from the TCP accept: a TLS or WebSocket handshake already used some of it.
    const spent = ctx.channel.connection.handshakeMs ?? 0;
    // Judged after an on-time step, so a Hello that arrived during a stalled loop is read first.
    runWhenOnTime(clock, Math.max(0, this.host.handshakeTimeout - spent), () => this.#handshakeExpired(), {
      slackMs: HOP_SLACK_MS,
      recoveryMs: 0,
      track: (timer) => {
        this.#handshakeTimer = timer;
      },
    });
    ctx.fireActive();
  }

  #handshakeExpired(): void {
    this.#handshakeTimer = undefined;
    if (this.#state === "handshake" || this.#state === "authenticating") {
      this.end(CloseCode.HandshakeTimeout, `no session opened within ${this.host.handshakeTimeout} ms`);
    }
  }

  channelRead(ctx: HandlerContext, value: unknown): void {
    if (this.#state === "ended") return;
    const message = decodeClientMessage(value); // throws ProtocolError → exceptionCaught
    switch (this.#state) {
      case "handshake":
        if (message.type !== MessageType.Hello) throw new ProtocolError("the first message must be Hello");
        this.#onHello(message);
        return;
      case "authenticating":
        throw new ProtocolError("message before Welcome");
      case "open":
        this.#onSessionMessage(ctx, message);
        return;
    }
  }

  channelInactive(ctx: HandlerContext, info: CloseInfo): void {
    this.#state = "ended";
    if (this.#pingTarget !== undefined) this.host.pinger.forget(this.#pingTarget);
    this.#clearHandshakeTimer(ctx);
    this.#session?.detach(this);
    ctx.fireInactive(info);
  }

  userEvent(ctx: HandlerContext, event: unknown): void {
    if (event === WRITABLE) this.#checkOutbound();
    else if (event === INBOUND_PROGRESS && this.#state === "open") this.#onProgress(ctx);
    ctx.fireUserEvent(event);
  }

  exceptionCaught(ctx: HandlerContext, error: Error): void {
    if (error instanceof FrameTooLargeError) this.end(CloseCode.FrameTooLarge, error.message);
    else if (error instanceof ProtocolError) this.end(CloseCode.ProtocolError, error.message);
    else ctx.fireError(error);
  }

  /** SessionLink: an encoded push or answer for the client. */
  sendFrame(frame: Uint8Array): void {
    if (this.#state === "ended" || this.#ctx === undefined) return;
    this.#ctx.write(frame);
    this.#checkOutbound();
  }

  /** SessionLink: one of the session's requests ended, perhaps one an earlier connection took. */
  requestEnded(): void {
    if (this.#readingPaused) this.#applyReadBackpressure();
  }

  #send(message: ServerMessage): void {
    this.sendFrame(encodeFrame(encodeServerMessage(message)));
  }

  /** SessionLink: Goodbye with a close code, then a graceful close. Idempotent. */
  end(code: CloseCode, reason: string): void {
    const ctx = this.#ctx;
    if (this.#state === "ended" || ctx === undefined) return;
    ctx.write(encodeFrame(encodeServerMessage({ type: MessageType.Goodbye, code, reason })));
    this.host.metrics.goodbye(code);
    this.#state = "ended";
    this.#clearHandshakeTimer(ctx);
    this.#session?.detach(this);
    ctx.close();
  }

  #onHello(hello: Hello): void {
    // The handshake deadline keeps running until the session is bound: an authenticate hook or
    // a session store that never answers must not hold the connection forever.
    if (hello.version !== PROTOCOL_VERSION) {
      this.end(
        CloseCode.UnsupportedVersion,
        `protocol version ${hello.version} unsupported; this server speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    if (hello.sessionId !== null) {
      const found = hello.password === null ? undefined : this.host.resume(hello.sessionId, hello.password);
      if (found instanceof Promise) {
        this.#state = "authenticating";
        found.then(
          (session) => this.#onResume(session, hello),
          (error: unknown) => {
            if (this.#state === "ended") return;
            if (error instanceof SessionMovedError) this.end(CloseCode.SessionMoved, error.message);
            else this.#storeFailed(error);
          },
        );
      } else {
        this.#onResume(found, hello);
      }
      return;
    }
    this.#state = "authenticating";
    const connection = {
      transport: this.transport,
      remoteAddress: this.remoteAddress,
      peerKey: this.#ctx?.channel.connection.peerKey ?? "unknown",
    };
    this.host.open(hello, connection).then(
      (session) => {
        if (this.#state !== "authenticating") {
          session.abandon(); // the connection went away while authenticating
          return;
        }
        this.#bind(session, hello, false);
      },
      (error: unknown) => {
        if (this.#state !== "authenticating") return;
        // Refused credentials are final for the client; a store that cannot answer is not.
        if (error instanceof AuthenticationError) this.end(CloseCode.AuthFailed, error.message);
        else if (error instanceof TooManySessionsError) this.end(CloseCode.TooManySessions, error.message);
        else this.#storeFailed(error);
      },
    );
  }

  #onResume(session: ServerSession | undefined, hello: Hello): void {
    if (this.#state === "ended") return; // the connection went away meanwhile; the session waits
    if (session === undefined) {
      // Unknown, ended and wrong-password resumes get the same answer: no oracle.
      this.end(CloseCode.SessionExpired, "session expired");
      return;
    }
    // Only after the password check does the previous connection lose the session.
    session.link?.end(CloseCode.SessionMoved, "session resumed on another connection");
    this.#bind(session, hello, true);
  }

  /** The session store could not answer (a shared store unreachable): the client retries. */
  #storeFailed(error: unknown): void {
    this.host.storeFailed(error);
    this.end(CloseCode.GoingAway, "session store unavailable");
  }

  #bind(session: ServerSession, hello: Hello, resumed: boolean): void {
    if (this.#ctx !== undefined) this.#clearHandshakeTimer(this.#ctx);
    this.#state = "open";
    this.#session = session;
    this.host.touch(session);
    const { id: sessionId, timeout } = session;
    // Frame limits, announced both ways: each side checks what it sends against the other's.
    const ownLimit = this.#ctx?.channel.connection.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    session.peerMaxFrameBytes = Math.min(hello.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, ownLimit);
    this.#send({
      type: MessageType.Welcome,
      sessionId,
      password: session.tracked.password,
      timeout,
      resumed,
      maxFrameBytes: ownLimit,
      cancels: true,
      serverPings: hello.serverPings === true,
    });
    if (hello.serverPings === true) {
      this.#pingTarget = {
        quietMs: timeout / 3,
        ping: () => {
          this.host.metrics.counts.pingsSent++;
          this.sendFrame(PING_FRAME);
        },
      };
      this.host.pinger.heard(this.#pingTarget);
    }
    session.attach(this, hello.lastPushSeq);
    this.#applyReadBackpressure(); // a resumed session may still run requests an earlier connection sent
    this.host.onSessionOpened(session, resumed);
  }

  #onSessionMessage(ctx: HandlerContext, message: ClientMessage): void {
    const session = this.#session as ServerSession;
    this.#touchForBatch();
    if (!this.#batchLive || session.ended) return; // the session is ending: its frames no longer count
    switch (message.type) {
      case MessageType.Hello:
        throw new ProtocolError("second Hello on an open session");
      case MessageType.Ping:
        this.host.metrics.counts.pings++;
        session.acknowledge(message.pushAck, message.responseAck);
        this.#pong(ctx);
        return;
      case MessageType.Ack:
        session.acknowledge(message.pushAck, message.responseAck);
        return;
      case MessageType.Request: {
        session.acknowledge(message.pushAck, message.responseAck);
        const request = new IncomingRequest(
          session,
          message.seq,
          message.op,
          message.body,
          this.#now(),
          this,
        );
        // Behind a request the store is still deciding, it waits its turn with the store.
        if (this.#admitting === 0 && this.host.isIdempotent(message.op)) request.idempotent = true;
        const admitted = session.admit(request);
        if (admitted === false) return; // a duplicate: answered from the cache, or still running
        this.host.metrics.counts.requests++;
        if (admitted === true) ctx.fireRead(request);
        else this.#admitLater(ctx, request, admitted);
        return;
      }
      case MessageType.CloseSession:
        this.host.closeByClient(session);
        return;
      case MessageType.Cancel:
        session.cancel(message.seq);
        return;
    }
  }

  /**
   * Bytes of a large request are arriving: the session lives. The client, whose Pings wait
   * behind that request on the same wire, hears nothing meanwhile, so it gets a Pong at most
   * every T/3 to know the server is there.
   */
  #onProgress(ctx: HandlerContext): void {
    const session = this.#session as ServerSession;
    if (!this.#inBatch) this.host.touch(session); // at most once per read, as a batch would
    const now = this.#now();
    if (now - this.#progressPongAt < session.timeout / 3) return;
    this.#progressPongAt = now;
    this.#pong(ctx);
  }

  /** Pongs count toward the outbound cap like any write. */
  #pong(ctx: HandlerContext): void {
    ctx.write(PONG_FRAME);
    this.#checkOutbound();
  }

  /** The first frame of a read batch touches the session for the whole batch: one clock read. */
  #touchForBatch(): void {
    if (this.#inBatch) return;
    this.#inBatch = true;
    this.#batchTime = undefined;
    this.#batchLive = this.host.touch(this.#session as ServerSession);
    if (this.#pingTarget !== undefined) this.host.pinger.heard(this.#pingTarget);
  }

  channelReadComplete(ctx: HandlerContext): void {
    this.#inBatch = false;
    this.#batchTime = undefined;
    ctx.fireReadComplete();
  }

  /** A shared store decides whether the request runs (it may have run on another server). */
  #admitLater(ctx: HandlerContext, request: IncomingRequest, admitted: Promise<boolean>): void {
    this.#admitting++;
    this.#applyReadBackpressure();
    const decided = () => {
      this.#admitting--;
      this.#applyReadBackpressure();
    };
    admitted.then(
      (run) => {
        decided();
        // Once the store has admitted it, it runs even if this connection has gone: its answer
        // is kept for the resume, and the store would refuse to run it anywhere else.
        if (run) ctx.fireRead(request);
      },
      (error: unknown) => {
        decided();
        this.#storeFailed(error);
      },
    );
  }

  /** RequestOwner: one of this connection's requests reached the dispatcher and runs. */
  requestBegan(request: IncomingRequest): void {
    this.#inFlight++;
    request.session.requestBegan();
    this.#applyReadBackpressure();
  }

  /** RequestOwner: one of this connection's requests got its answer. */
  requestSettled(request: IncomingRequest): void {
    this.host.metrics.observeLatency(this.#now() - request.arrivedAt);
    if (!request.began) return;
    this.#inFlight--;
    this.#applyReadBackpressure();
  }

  /**
   * RequestOwner: the answer goes down the pipeline from the dispatcher, so every handler
   * between here and there sees it (as an `OutgoingReply`), and comes back to `write` below.
   */
  reply(request: IncomingRequest, response: ResponseMessage): void {
    const reply = new OutgoingReply(request, response);
    const dispatch = this.#dispatchContext();
    if (dispatch === undefined) this.#answer(reply);
    else dispatch.write(reply);
  }

  /** The dispatcher's context, looked up again only if it left the pipeline. */
  #dispatchContext(): HandlerContext | undefined {
    if (this.#dispatch === undefined || this.#dispatch.mask === 0) {
      this.#dispatch = this.#ctx?.pipeline.context(ServerPipeline.dispatch);
    }
    return this.#dispatch;
  }

  write(ctx: HandlerContext, message: unknown): void {
    if (message instanceof OutgoingReply) this.#answer(message);
    else ctx.write(message);
  }

  /**
   * Encodes an answer once, as it leaves: it is sent, and its size counts toward the session's
   * bounds. One that cannot be encoded, or is larger than the client takes, becomes an error
   * answer: the request still has exactly one outcome, and nothing loops.
   */
  #answer(reply: OutgoingReply): void {
    const { request, response } = reply;
    const session = request.session;
    let frame: Uint8Array;
    try {
      const message = encodeServerMessage(response);
      // Encoded into the memory it is kept in, or, if the session will not keep it, for the turn.
      frame = request.keepAnswer ? encodeFrameToKeep(message) : encodeFrameForTurn(message);
    } catch (error) {
      this.#answerInstead(
        reply,
        error,
        RequestErrorCode.UnencodableAnswer,
        "the answer cannot be encoded as plain MessagePack",
      );
      return;
    }
    const limit = session.peerMaxFrameBytes;
    if (frame.byteLength > limit) {
      this.#answerInstead(
        reply,
        new FrameTooLargeError(frame.byteLength, limit),
        RequestErrorCode.AnswerTooLarge,
        `the answer is ${frame.byteLength} bytes; this client takes frames of at most ${limit}`,
      );
      return;
    }
    session.complete(response, frame, request.keepAnswer);
  }

  #answerInstead(reply: OutgoingReply, error: unknown, code: string, message: string): void {
    const { request } = reply;
    this.host.answerFailed(request, error);
    const response: ResponseMessage = { type: MessageType.ErrorResponse, seq: request.seq, code, message };
    request.session.complete(response, encodeFrame(encodeServerMessage(response)), request.keepAnswer);
  }

  /** The server clock, read once per read batch, not once per frame. */
  #now(): number {
    if (!this.#inBatch) return this.host.now();
    this.#batchTime ??= this.host.now();
    return this.#batchTime;
  }

  /**
   * Outstanding requests above a limit pause reading: backpressure, not an error. The session's
   * count spans its connections, so resuming again and again cannot pile requests up.
   */
  #applyReadBackpressure(): void {
    const connection = this.#ctx?.channel.connection;
    if (connection === undefined || this.#state === "ended") return;
    const over =
      this.#inFlight + this.#admitting >= this.host.maxInFlightPerConnection ||
      (this.#session?.running ?? 0) >= this.host.maxInFlightPerSession;
    if (over && !this.#readingPaused) {
      this.#readingPaused = true;
      this.host.metrics.counts.readPauses++;
      connection.pause();
    } else if (!over && this.#readingPaused) {
      this.#readingPaused = false;
      connection.resume();
    }
  }

  /** A reader too slow for what we send loses its connection (its session survives). */
  #checkOutbound(): void {
    const connection = this.#ctx?.channel.connection;
    if (connection !== undefined && connection.bufferedAmount > this.host.maxOutboundBytes) {
      this.#state = "ended";
      this.#session?.detach(this);
      this.host.metrics.counts.slowConsumers++;
      connection.abort(new ProtocolError(`slow consumer: over ${this.host.maxOutboundBytes} bytes queued`));
    }
  }

  #clearHandshakeTimer(ctx: HandlerContext): void {
    if (this.#handshakeTimer !== undefined) ctx.channel.clock.clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
  }
}
