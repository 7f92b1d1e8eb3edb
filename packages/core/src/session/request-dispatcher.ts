import type { ChannelHandler } from "../channel/handler.js";
import type { HandlerContext } from "../channel/pipeline.js";
import { RequestError } from "../errors.js";
import type { StandardSchemaIssue, StandardSchemaResult, StandardSchemaV1 } from "../standard-schema.js";
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

export interface HandleOptions<Body = unknown> {
  /**
   * A schema the body must pass before the handler runs (any Standard Schema: zod, valibot,
   * arktype, ...); the handler gets its output. A body that fails is answered `invalid-body`
   * with the issues found, and the handler does not run.
   */
  body?: StandardSchemaV1<unknown, Body> | undefined;
  /**
   * Running the op twice has the same effect as running it once (a read, a put of the same
   * value). Its answers are then not kept until the client acknowledges them: a request whose
   * answer was lost with a connection runs again after the resume, instead of being answered
   * from the session's cache. Saves the cache's memory (up to `maxResponses` answers per
   * session, each held about one round trip). Default false: every request runs at most once.
   * In cluster mode such a request runs without a round trip to the store, and nothing of it
   * is kept there; one that arrives while an earlier request of its connection waits for the
   * store goes through the store after it, so requests start in the order sent.
   */
  idempotent?: boolean;
}

/** A `server.handle` registration. */
export interface RegisteredHandler {
  run: RequestHandler;
  idempotent: boolean;
  schema?: StandardSchemaV1 | undefined;
}

/** At most this much of a schema's issues is sent back: they may quote what the client sent. */
const MAX_ISSUES_TEXT = 512;

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
    if (handler.schema === undefined) this.#run(handler, request, request.body);
    else this.#validateThenRun(handler, handler.schema, request);
  }

  #validateThenRun(handler: RegisteredHandler, schema: StandardSchemaV1, request: IncomingRequest): void {
    let checked: ReturnType<StandardSchemaV1["~standard"]["validate"]>;
    try {
      checked = schema["~standard"].validate(request.body);
    } catch (error) {
      this.#failed(error, request);
      return;
    }
    const decide = (result: StandardSchemaResult<unknown>) => {
      if (result.issues === undefined) this.#run(handler, request, result.value);
      else request.failWith(RequestErrorCode.InvalidBody, describeIssues(result.issues));
    };
    if (checked instanceof Promise) checked.then(decide, (error: unknown) => this.#failed(error, request));
    else decide(checked);
  }

  #run(handler: RegisteredHandler, request: IncomingRequest, body: unknown): void {
    let result: unknown;
    try {
      // The request is its own context (session, op, signal): no object per request.
      result = handler.run(body, request);
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

/** "path: message" for each issue, cut to a bounded length. */
function describeIssues(issues: ReadonlyArray<StandardSchemaIssue>): string {
  const text = issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((part) => String(typeof part === "object" ? part.key : part))
        .join(".");
      return path === "" ? issue.message : `${path}: ${issue.message}`;
    })
    .join("; ");
  return text.length > MAX_ISSUES_TEXT ? `${text.slice(0, MAX_ISSUES_TEXT)}...` : text;
}
