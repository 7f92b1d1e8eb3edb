import { encodeFrame } from "../channel/msgpack-codec.js";
import { CancelledError, FrameTooLargeError, SessionExpiredError } from "../errors.js";
import { LazyEventEmitter } from "../lazy-event-emitter.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../transport/connection.js";
import type { IncomingRequest } from "./incoming-request.js";
import { frameOfKept, type KeptAnswer, keepAnswer, releaseKept } from "./kept-answer.js";
import {
  CloseCode,
  encodeServerMessage,
  MessageType,
  RequestErrorCode,
  type ServerMessage,
} from "./protocol.js";
import { SeqIndex } from "./seq-index.js";
import type { TrackedSession } from "./session-tracker.js";

/** Why a server session ended. */
export type ServerSessionEndReason = "expired" | "closed" | "buffer-overflow";

export interface ServerSessionEvents {
  /** Exactly once, after which the session is gone. */
  end: (reason: ServerSessionEndReason) => void;
}

/**
 * What a session asks of the store that made it: the one seam between a session's buffers,
 * which stay here, and where its truth lives (this process, or a backend other servers share).
 */
export interface SessionHost {
  /**
   * Every answer of a request it admitted is kept until the client acknowledges it, idempotent
   * op or not: true for a shared store, where a resume on another server needs it. (A request
   * marked `idempotent` it did not admit: it ran unrecorded, and its answer is not kept.)
   */
  readonly keepsEveryAnswer: boolean;
  /** Ends the session (one path for every end). */
  end(session: ServerSession, reason: ServerSessionEndReason): void;
  /**
   * Server code pushed `message` (numbered as this object counts), already checked and
   * encoded as `frame`. An in-process store delivers it; a shared one numbers it anew.
   */
  push(session: ServerSession, message: PushMessage, frame: Uint8Array): void;
  /** A request this object would run: true, or the store's word (another server may own it). */
  admit(session: ServerSession, request: IncomingRequest): boolean | Promise<boolean>;
  /** An answer made here is kept until acknowledged (`frame` only until the turn ends: copy to keep). */
  answered(session: ServerSession, response: ResponseMessage, frame: Uint8Array): void;
  /** The client confirmed pushes up to `pushAck` and answers below `responseAck`. */
  acknowledged(session: ServerSession, pushAck: number, responseAck: number): void;
}

/** Where a session's messages go while a connection carries it. */
export interface SessionLink {
  readonly transport: string;
  readonly remoteAddress: string;
  /** Sends one encoded message (a push or an answer). */
  sendFrame(frame: Uint8Array): void;
  /** Says goodbye with a close code and closes the connection. */
  end(code: CloseCode, reason: string): void;
  /** One of the session's running requests ended (reading may resume below the bound). */
  requestEnded(): void;
}

export type PushMessage = Extract<ServerMessage, { type: typeof MessageType.Push }>;
export type ResponseMessage = Extract<
  ServerMessage,
  { type: typeof MessageType.Response | typeof MessageType.ErrorResponse }
>;

export interface SessionBounds {
  /** Unacknowledged pushes kept for replay. */
  maxReplay: number;
  /** Bytes of unacknowledged pushes kept for replay (encoded size). */
  maxReplayBytes: number;
  /** Responses kept until the client acknowledges them (the dedupe cache). */
  maxResponses: number;
  /** Bytes of responses kept until the client acknowledges them (encoded size). */
  maxResponseBytes: number;
  /** Bytes of `data` (encoded) a shared store keeps for the session. */
  maxDataBytes: number;
}

/**
 * A message kept until the client acknowledges it, with its encoded size, which the byte bounds
 * count: every push, and small answers (see `KeptAnswer`). The message is kept rather than its
 * frame: a frame is a view into the encoder's shared buffer and would keep all of that buffer
 * alive, and a push to many sessions is one message for all of them. A resume, the rare case,
 * encodes it again.
 */
export interface Kept<M> {
  readonly message: M;
  readonly bytes: number;
}

const encodeMessage = (message: ServerMessage): Uint8Array => encodeFrame(encodeServerMessage(message));
/** The replay of every session that keeps no push: frozen, so a write to it throws. */
const NO_PUSHES = Object.freeze([]) as unknown as Kept<PushMessage>[];

/**
 * A session as server code sees it: identity, user data and pushes. It outlives connections;
 * the buffers that make a resume lossless (unacknowledged pushes, unacknowledged responses,
 * requests still running) live here, for every store. One class, not meant to be subclassed:
 * what differs between stores goes through the `SessionHost` its store gives it.
 */
export class ServerSession extends LazyEventEmitter<ServerSessionEvents> {
  #data: Record<string, unknown> | undefined;
  /**
   * @internal The largest frame the client takes (what its Hello announced, within this
   * server's own connection limit); pushes and answers over it are refused where they are made.
   */
  peerMaxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  readonly #bounds: SessionBounds;
  readonly #host: SessionHost;
  #link: SessionLink | undefined;
  /** The highest push sequence number handed to `deliverPush`: later ones only. */
  #deliveredSeq = 0;
  /** `NO_PUSHES` while none is kept: an idle session holds no array of its own. */
  #replay: Kept<PushMessage>[] = NO_PUSHES;
  #replayBytes = 0;
  /** Answers kept until the client acknowledges them (the dedupe cache). */
  #responses: SeqIndex<KeptAnswer> | undefined;
  #responseBytes = 0;
  /** Made by the first request (as `#responses` by the first kept answer): idle sessions hold neither. */
  #running: SeqIndex<IncomingRequest> | undefined;
  /** How many of `#running` have begun (reached the dispatcher): `running`. */
  #begun = 0;
  /** Every request below this was answered and the client has the answer. */
  #responseAck = 1;
  #ended: ServerSessionEndReason | undefined;
  #abandoned = false;

  constructor(
    readonly tracked: TrackedSession,
    /** What `authenticate` returned for the connection that opened the session. */
    readonly principal: unknown,
    bounds: SessionBounds,
    host: SessionHost,
  ) {
    super();
    this.#bounds = bounds;
    this.#host = host;
  }

  get id(): string {
    return this.tracked.id;
  }

  /**
   * Application state for this session (lock ownership, presence, ...). Made when first read:
   * most idle sessions never hold any, and an empty object each is bytes they all keep.
   */
  get data(): Record<string, unknown> {
    this.#data ??= {};
    return this.#data;
  }

  /** @internal `data` if it was ever read (so may hold something), without making it. */
  get dataIfMade(): Record<string, unknown> | undefined {
    return this.#data;
  }

  /** Negotiated timeout in ms. */
  get timeout(): number {
    return this.tracked.timeout;
  }

  get connected(): boolean {
    return this.#link !== undefined;
  }

  get transport(): string | undefined {
    return this.#link?.transport;
  }

  get remoteAddress(): string | undefined {
    return this.#link?.remoteAddress;
  }

  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /** Pushes awaiting the client's acknowledgement. */
  get unacknowledgedPushes(): number {
    return this.#replay.length;
  }

  /** Bytes of unacknowledged pushes kept (encoded). */
  get unacknowledgedPushBytes(): number {
    return this.#replayBytes;
  }

  /**
   * Sends `body` on `topic` to the client: now if connected, else on resume. Delivered once,
   * in order, or the session ends (`buffer-overflow`) when too many, or too many bytes, wait
   * unacknowledged. Throws `UnencodableValueError` (and nothing is sent) for a body plain
   * MessagePack cannot carry, and `FrameTooLargeError` for a push larger than the client takes.
   */
  push(topic: string, body: unknown): void {
    if (this.#ended !== undefined)
      throw new SessionExpiredError(`session ${this.id} has ended (${this.#ended})`);
    const message: PushMessage = { type: MessageType.Push, seq: this.#deliveredSeq + 1, topic, body };
    const frame = encodeMessage(message);
    if (frame.byteLength > this.peerMaxFrameBytes)
      throw new FrameTooLargeError(frame.byteLength, this.peerMaxFrameBytes);
    this.#host.push(this, message, frame);
  }

  /**
   * @internal Keeps a numbered push for replay and sends it if connected. Pushes come in
   * sequence order; one at or below the last delivered is a repeat and is ignored. False when
   * the replay bound overflowed, which ends the session.
   */
  deliverPush(message: PushMessage, frame = encodeMessage(message)): boolean {
    if (this.#ended !== undefined || message.seq <= this.#deliveredSeq) return true;
    if (!this.#replayHasRoom(frame)) {
      this.#host.end(this, "buffer-overflow");
      return false;
    }
    this.#keepPush(message, frame);
    return true;
  }

  #keepPush(message: PushMessage, frame: Uint8Array): void {
    this.#deliveredSeq = message.seq;
    if (this.#replay === NO_PUSHES) this.#replay = [];
    this.#replay.push({ message, bytes: frame.byteLength });
    this.#replayBytes += frame.byteLength;
    this.#link?.sendFrame(frame);
  }

  #replayHasRoom(frame: Uint8Array): boolean {
    return (
      this.#replay.length < this.#bounds.maxReplay &&
      this.#replayBytes + frame.byteLength <= this.#bounds.maxReplayBytes
    );
  }

  /** @internal What the replay bound is, for the error a refused push throws. */
  get replayBoundText(): string {
    return `unacknowledged pushes over ${this.#bounds.maxReplay} or ${this.#bounds.maxReplayBytes} bytes`;
  }

  /** @internal The highest push sequence number delivered to this session object. */
  get deliveredPushSeq(): number {
    return this.#deliveredSeq;
  }

  /**
   * @internal Loads what a shared store kept for this session (unacknowledged pushes and
   * responses, and the last push number it gave out) before a connection attaches; replaces
   * what this object held.
   */
  restore(
    pushes: readonly PushMessage[],
    responses: readonly ResponseMessage[],
    responseAck: number,
    lastPushSeq: number,
  ): void {
    this.#replay = pushes.length === 0 ? NO_PUSHES : [];
    this.#replayBytes = 0;
    for (const push of pushes) {
      const bytes = encodeMessage(push).byteLength;
      this.#replay.push({ message: push, bytes });
      this.#replayBytes += bytes;
    }
    this.#deliveredSeq = Math.max(this.#deliveredSeq, lastPushSeq);
    this.#dropResponses();
    for (const response of responses) this.#keepResponse(response, encodeMessage(response));
    this.#responseAck = Math.max(this.#responseAck, responseAck);
  }

  /** Ends the session now, from the server side. */
  close(): void {
    if (this.#ended === undefined) this.#host.end(this, "closed");
  }

  /**
   * @internal Ends a session no client ever held (its handshake was given up before the
   * Welcome): it goes like a closed one, but the server tells no `expire` listener of it.
   */
  abandon(): void {
    this.#abandoned = true;
    this.close();
  }

  /** @internal Ended by `abandon()`. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** @internal A connection carries the session from now on; replays what it missed. */
  attach(link: SessionLink, lastPushSeq: number): void {
    this.#link = link;
    this.acknowledge(lastPushSeq, this.#responseAck);
    for (const push of this.#replay) link.sendFrame(encodeMessage(push.message));
    if (this.#responses !== undefined)
      for (const answer of this.#responses.values()) link.sendFrame(frameOfKept(answer));
  }

  /** @internal */
  detach(link: SessionLink): void {
    if (this.#link === link) this.#link = undefined;
  }

  /** @internal The store's side of this session. */
  get host(): SessionHost {
    return this.#host;
  }

  /** @internal */
  get link(): SessionLink | undefined {
    return this.#link;
  }

  /** @internal Drops what the client confirmed having, and tells the store. */
  acknowledge(pushAck: number, responseAck: number): void {
    this.#dropAcknowledged(pushAck, responseAck);
    // A client cannot have more pushes than were delivered: a larger ack is clamped.
    this.#host.acknowledged(this, Math.min(pushAck, this.#deliveredSeq), responseAck);
  }

  #dropAcknowledged(pushAck: number, responseAck: number): void {
    let drop = 0;
    while (drop < this.#replay.length && (this.#replay[drop] as Kept<PushMessage>).message.seq <= pushAck) {
      this.#replayBytes -= (this.#replay[drop] as Kept<PushMessage>).bytes;
      drop++;
    }
    if (drop > 0) this.#replay = drop === this.#replay.length ? NO_PUSHES : this.#replay.slice(drop);
    if (responseAck > this.#responseAck) {
      this.#responseAck = responseAck;
      this.#responseBytes -= this.#responses?.deleteBelow(responseAck, releaseKept) ?? 0;
    }
  }

  /**
   * @internal Decides whether `request` runs: false when it ran or is running already (a
   * resent duplicate), in which case a cached answer is sent again. A shared store may need
   * to ask another process, and answers with a promise.
   */
  admit(request: IncomingRequest): boolean | Promise<boolean> {
    return this.#admitHere(request) && this.#host.admit(this, request);
  }

  /** `admit` as far as this object knows. */
  #admitHere(request: IncomingRequest): boolean {
    const seq = request.seq;
    if (this.#ended !== undefined || seq < this.#responseAck || this.#running?.has(seq)) return false;
    const cached = this.#responses?.get(seq);
    if (cached !== undefined) {
      this.#link?.sendFrame(frameOfKept(cached));
      return false;
    }
    this.#running ??= new SeqIndex();
    this.#running.set(seq, request);
    return true;
  }

  /** @internal Forgets a request admitted here that a shared store then refused. */
  withdraw(seq: number): void {
    const request = this.#running?.delete(seq);
    if (request === undefined) return;
    if (request.began) this.#begun--;
    this.#link?.requestEnded();
  }

  /**
   * @internal The client gave request `seq` up: if it runs here, its handler's signal aborts
   * and it is answered `cancelled` now (a later answer from the handler is ignored).
   */
  cancel(seq: number): void {
    const request = this.#running?.get(seq);
    if (request === undefined || request.settled) return;
    request.abort(new CancelledError(`request ${seq} was cancelled by the client`));
    request.failWith(RequestErrorCode.Cancelled, "the client cancelled the request");
  }

  /** @internal One of the admitted requests reached the dispatcher. */
  requestBegan(): void {
    this.#begun++;
  }

  /**
   * @internal A handler finished with `response`, encoded as `frame`: keep it until
   * acknowledged (unless `keep` is false: an idempotent op, run again if re-sent, where the
   * store allows), and send it. False when the answer is not kept (not running here, the
   * session ended, a bound overflowed, or not asked to).
   */
  complete(response: ResponseMessage, frame: Uint8Array, keep = true): boolean {
    const request = this.#running?.delete(response.seq);
    if (request === undefined || this.#ended !== undefined) return false;
    if (request.began) this.#begun--;
    this.#link?.requestEnded();
    if (!keep && (request.idempotent || !this.#host.keepsEveryAnswer)) {
      this.#link?.sendFrame(frame);
      return false;
    }
    const kept = this.#deliverResponseFrame(response, frame);
    if (kept) this.#host.answered(this, response, frame);
    return kept;
  }

  /**
   * @internal Keeps an answer until acknowledged and sends it if connected; one the client
   * already acknowledged, or already kept, is ignored.
   */
  deliverResponse(response: ResponseMessage): boolean {
    return this.#deliverResponseFrame(response, encodeMessage(response));
  }

  #deliverResponseFrame(response: ResponseMessage, frame: Uint8Array): boolean {
    const seq = response.seq;
    if (this.#ended !== undefined || seq < this.#responseAck || this.#responses?.has(seq)) return false;
    if (
      (this.#responses?.size ?? 0) >= this.#bounds.maxResponses ||
      this.#responseBytes + frame.byteLength > this.#bounds.maxResponseBytes
    ) {
      this.#host.end(this, "buffer-overflow");
      return false;
    }
    this.#keepResponse(response, frame);
    this.#link?.sendFrame(frame);
    return true;
  }

  #keepResponse(response: ResponseMessage, frame: Uint8Array): void {
    this.#responses ??= new SeqIndex();
    this.#responses.set(response.seq, keepAnswer(response, frame));
    this.#responseBytes += frame.byteLength;
  }

  #dropResponses(): void {
    if (this.#responses !== undefined) {
      for (const answer of this.#responses.values()) releaseKept(answer);
      this.#responses.clear();
    }
    this.#responseBytes = 0;
  }

  /** @internal Requests running right now (admitted and begun). */
  get running(): number {
    return this.#begun;
  }

  /** @internal Called once by the server as the session ends. */
  end(reason: ServerSessionEndReason): void {
    if (this.#ended !== undefined) return;
    this.#ended = reason;
    if (this.#running !== undefined) {
      for (const request of this.#running.values())
        request.abort(new SessionExpiredError(`session ${reason}`));
      this.#running.clear();
    }
    this.#begun = 0;
    const link = this.#link;
    this.#link = undefined;
    const code =
      reason === "closed"
        ? CloseCode.SessionClosed
        : reason === "buffer-overflow"
          ? CloseCode.BufferOverflow
          : CloseCode.SessionExpired;
    link?.end(code, `session ${reason}`);
    this.#replay = NO_PUSHES;
    this.#replayBytes = 0;
    this.#dropResponses();
    this.emit("end", reason);
  }
}
