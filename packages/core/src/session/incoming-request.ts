import { RequestError } from "../errors.js";
import { MessageType, RequestErrorCode } from "./protocol.js";
import type { ServerSession } from "./server-session.js";

/** Told when a request settles (the connection's handler: in-flight count and latency). */
export interface RequestOwner {
  requestSettled(request: IncomingRequest): void;
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
    if (this.#settle())
      this.session.complete({ type: MessageType.Response, seq: this.seq, body }, this.keepAnswer);
  }

  /** Answers with an error. A `RequestError`'s code and message reach the client; others do not. */
  fail(error: unknown): void {
    if (!this.#settle()) return;
    const known = error instanceof RequestError;
    this.session.complete(
      {
        type: MessageType.ErrorResponse,
        seq: this.seq,
        code: known ? error.code : RequestErrorCode.HandlerFailed,
        message: known ? error.message : "the request handler failed",
      },
      this.keepAnswer,
    );
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.owner.requestSettled(this);
    return true;
  }
}
