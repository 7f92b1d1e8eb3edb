import { RequestError } from "../errors.js";
import { MessageType, RequestErrorCode } from "./protocol.js";
import type { ResponseMessage, ServerSession } from "./server-session.js";

/** The connection's session handler, told of each step of a request's life. */
export interface RequestOwner {
  /** It reached the dispatcher: it runs, and counts as in flight until it settles. */
  requestBegan(request: IncomingRequest): void;
  /** It got its answer (the first `respond` or `fail`). */
  requestSettled(request: IncomingRequest): void;
  /** Sends the answer down the pipeline, from the dispatcher, to be encoded, kept and sent. */
  reply(request: IncomingRequest, response: ResponseMessage): void;
}

/**
 * A request travelling up the server pipeline, from the session handler to the dispatcher.
 * Handlers in between may inspect it, or settle it themselves (`fail` to refuse it; one that
 * is neither passed on nor answered never runs, and its client waits for its own timeout).
 * It settles once; later calls are ignored. Its answer goes back down as an `OutgoingReply`.
 */
export class IncomingRequest {
  #settled = false;
  #began = false;
  /** Made only if a handler reads `signal`: one AbortController per request was the largest cost in the profile. */
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;
  /** @internal Whether the session keeps the answer until acknowledged (false: an idempotent op). */
  keepAnswer = true;
  /**
   * @internal Its op is registered idempotent and no earlier request of its connection waits
   * for the store's decision: a shared store lets it run without recording it (as one server
   * runs it), and no answer of it is kept there.
   */
  idempotent = false;

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

  /** Whether it reached the dispatcher (and so counts as running). */
  get began(): boolean {
    return this.#began;
  }

  /** @internal The dispatcher runs it now. */
  begin(): void {
    if (this.#began || this.#settled) return;
    this.#began = true;
    this.owner.requestBegan(this);
  }

  respond(body: unknown): void {
    if (!this.#settle()) return;
    this.owner.reply(this, { type: MessageType.Response, seq: this.seq, body });
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
    this.owner.reply(this, { type: MessageType.ErrorResponse, seq: this.seq, code, message });
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.owner.requestSettled(this);
    return true;
  }
}
