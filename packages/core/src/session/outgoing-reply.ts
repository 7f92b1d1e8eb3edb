import type { IncomingRequest } from "./incoming-request.js";
import type { ResponseMessage } from "./server-session.js";

/**
 * The answer to a request on its way down the server pipeline, from the dispatcher (or a
 * handler that answered the request itself) to the session handler, which encodes it, keeps it
 * for a resume and sends it. Handlers in between may read it, or change `response`.
 */
export class OutgoingReply {
  constructor(
    readonly request: IncomingRequest,
    public response: ResponseMessage,
  ) {}
}
