import type { ChannelHandler } from "../channel/handler.js";
import type { HandlerContext } from "../channel/pipeline.js";
import { RequestError } from "../errors.js";
import { IncomingRequest } from "./incoming-request.js";
import { RequestErrorCode } from "./protocol.js";
import type { ServerSession } from "./server-session.js";

export interface RequestContext {
  session: ServerSession;
  op: string;
  /** Aborted when the session ends while the handler runs. */
  signal: AbortSignal;
}

export type RequestHandler = (body: unknown, context: RequestContext) => unknown;

export interface HandleOptions {
  /**
   * Running the op twice has the same effect as running it once (a read, a put of the same
   * value). Its answers are then not kept until the client acknowledges them: a request whose
   * answer was lost with a connection runs again after the resume, instead of being answered
   * from the session's cache. Saves the cache's memory (up to `maxResponses` answers per
   * session, each held about one round trip). Default false: every request runs at most once.
   * Cluster sessions keep every answer regardless (Redis records them for resumes elsewhere).
   */
  idempotent?: boolean;
}

/** A `server.handle` registration. */
export interface RegisteredHandler {
  run: RequestHandler;
  idempotent: boolean;
}

/** The last server handler: runs `server.handle(op, fn)` registrations for each request. */
export class RequestDispatcher implements ChannelHandler {
  constructor(
    private readonly handlers: ReadonlyMap<string, RegisteredHandler>,
    private readonly onHandlerError: (error: unknown, request: IncomingRequest) => void,
  ) {}

  channelRead(ctx: HandlerContext, message: unknown): void {
    if (!(message instanceof IncomingRequest)) {
      ctx.fireRead(message);
      return;
    }
    const request = message;
    if (request.settled) return;
    const handler = this.handlers.get(request.op);
    if (handler === undefined) {
      request.failWith(RequestErrorCode.UnknownOp, `no handler for op "${request.op}"`);
      return;
    }
    if (handler.idempotent) request.keepAnswer = false;
    request.begin();
    let result: unknown;
    try {
      // The request is its own context (session, op, signal): no object per request.
      result = handler.run(request.body, request);
    } catch (error) {
      this.#failed(error, request);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (body) => request.respond(body),
        (error: unknown) => this.#failed(error, request),
      );
    } else {
      request.respond(result);
    }
  }

  #failed(error: unknown, request: IncomingRequest): void {
    if (!(error instanceof RequestError)) this.onHandlerError(error, request);
    request.fail(error);
  }
}
