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

/** The last server handler: runs `server.handle(op, fn)` registrations for each request. */
export class RequestDispatcher implements ChannelHandler {
  constructor(
    private readonly handlers: ReadonlyMap<string, RequestHandler>,
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
      request.fail(new RequestError(RequestErrorCode.UnknownOp, `no handler for op "${request.op}"`));
      return;
    }
    let result: unknown;
    try {
      // The request is its own context (session, op, signal): no object per request.
      result = handler(request.body, request);
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
