import { encodeFrame } from "../channel/msgpack-codec.js";
import { FrameTooLargeError, RequestError } from "../errors.js";
import { errorResponseWire, MessageType, RequestErrorCode, responseWire } from "./protocol.js";
import type { ResponseMessage, ServerSession } from "./server-session.js";

/** Told when a request settles (the connection's handler: in-flight count and latency). */
export interface RequestOwner {
  requestSettled(request: IncomingRequest): void;
  /**
   * The answer could not be sent (`UnencodableValueError`, or `FrameTooLargeError` over the
   * client's frame limit); an error answer went instead.
   */
  answerFailed(request: IncomingRequest, error: unknown): void;
}

/**
 * A request travelling up the server pipeline, from the session handler to the dispatcher.
 * Handlers in between may inspect it, or settle it themselves (`fail` to refuse it).
 * It settles once; later calls are ignored.
 */
export class IncomingRequest {
  #settled = false;
  /** Made only if a handler reads `signal`: one AbortController per request was the largest cost in the profile. */
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;
  /** @internal Whether the session keeps the answer until acknowledged (false: an idempotent op). */
  keepAnswer = true;

  constructor(
    readonly session: ServerSession,
    readonly seq: number,
    readonly op: string,
    readonly body: unknown,
    /** When it arrived, on the server's clock. */
    readonly arrivedAt: number,
    private readonly owner: RequestOwner,
  ) {}

  /** Aborted if the session ends while the request runs. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** @internal The session ended under it. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  get settled(): boolean {
    return this.#settled;
  }

  respond(body: unknown): void {
    if (!this.#settle()) return;
    const seq = this.seq;
    this.#answer({ type: MessageType.Response, seq, body }, responseWire(seq, body));
  }

  /** Answers with an error. A `RequestError`'s code and message reach the client; others do not. */
  fail(error: unknown): void {
    const known = error instanceof RequestError;
    this.failWith(
      known ? error.code : RequestErrorCode.HandlerFailed,
      known ? error.message : "the request handler failed",
    );
  }

  /** Answers with an error code and message, without an `Error` (and its stack trace) to carry them. */
  failWith(code: string, message: string): void {
    if (!this.#settle()) return;
    const seq = this.seq;
    this.#answer(
      { type: MessageType.ErrorResponse, seq, code, message },
      errorResponseWire(seq, code, message),
    );
  }

  /**
   * Encodes the answer once, as it is made: it is sent, and its size counts toward the
   * session's bounds. One that cannot be encoded, or is larger than the client takes, becomes
   * an error answer: the request still has exactly one outcome, and nothing loops.
   */
  #answer(response: ResponseMessage, wire: unknown[]): void {
    let frame: Uint8Array;
    try {
      frame = encodeFrame(wire);
    } catch (error) {
      this.#answerInstead(
        error,
        RequestErrorCode.UnencodableAnswer,
        "the answer cannot be encoded as plain MessagePack",
      );
      return;
    }
    const limit = this.session.peerMaxFrameBytes;
    if (frame.byteLength > limit) {
      this.#answerInstead(
        new FrameTooLargeError(frame.byteLength, limit),
        RequestErrorCode.AnswerTooLarge,
        `the answer is ${frame.byteLength} bytes; this client takes frames of at most ${limit}`,
      );
      return;
    }
    this.session.complete(response, frame, this.keepAnswer);
  }

  #answerInstead(error: unknown, code: string, message: string): void {
    this.owner.answerFailed(this, error);
    const response: ResponseMessage = { type: MessageType.ErrorResponse, seq: this.seq, code, message };
    this.session.complete(response, encodeFrame(errorResponseWire(this.seq, code, message)), this.keepAnswer);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.owner.requestSettled(this);
    return true;
  }
}
