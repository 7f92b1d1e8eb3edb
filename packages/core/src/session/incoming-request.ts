import { RequestError } from "../errors.js";
import { MessageType, RequestErrorCode } from "./protocol.js";
import type { RunningRequest, ServerSession } from "./server-session.js";

/**
 * A request travelling up the server pipeline, from the session handler to the dispatcher.
 * Handlers in between may inspect it, or settle it themselves (`fail` to refuse it).
 * It settles once; later calls are ignored.
 */
export class IncomingRequest {
  #settled = false;

  constructor(
    readonly session: ServerSession,
    readonly seq: number,
    readonly op: string,
    readonly body: unknown,
    private readonly running: RunningRequest,
    private readonly onSettled: () => void,
  ) {}

  /** Aborted if the session ends while the request runs (made on first use). */
  get signal(): AbortSignal {
    return this.running.signal;
  }

  get settled(): boolean {
    return this.#settled;
  }

  respond(body: unknown): void {
    if (this.#settle()) this.session.complete({ type: MessageType.Response, seq: this.seq, body });
  }

  /** Answers with an error. A `RequestError`'s code and message reach the client; others do not. */
  fail(error: unknown): void {
    if (!this.#settle()) return;
    const known = error instanceof RequestError;
    this.session.complete({
      type: MessageType.ErrorResponse,
      seq: this.seq,
      code: known ? error.code : RequestErrorCode.HandlerFailed,
      message: known ? error.message : "the request handler failed",
    });
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.onSettled();
    return true;
  }
}
