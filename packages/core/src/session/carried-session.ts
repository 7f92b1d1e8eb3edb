import type { IncomingRequest } from "./incoming-request.js";
import type {
  PushMessage,
  ResponseMessage,
  ServerSession,
  ServerSessionEndReason,
  SessionHost,
} from "./server-session.js";

/** A request another server runs: how to settle its admission here once that changes. */
export interface Waiting {
  /** Settles the admission: true if the request is this server's to run after all. */
  decide(run: boolean): void;
}

/**
 * This server's bookkeeping for one session it carries (the session's data is in the backend),
 * and that session's host: a touch finds it from the session with no lookup.
 */
export class CarriedSession implements SessionHost {
  readonly keepsEveryAnswer = true;
  /** The session; set once, right after it is made with this as its host. */
  session!: ServerSession;
  /** Ending has begun here (the store is claiming it): its frames no longer count. */
  closing = false;
  /** No longer carried here (it moved, or ended): its frames no longer count. */
  letGo = false;
  /** Which resume of the session this server carries (0: opened here, not resumed). */
  epoch = 0;
  /** When its latest frame arrived, on the store's clock. */
  lastTouch = 0;
  /** The deadline bucket last written to the backend. */
  flushedDeadline = 0;
  /** `session.data` as last written to the backend (undefined: never). */
  writtenData: Uint8Array | undefined;
  /** The client's latest acknowledgements, written at the next flush... */
  pushAck = 0;
  responseAck = 0;
  /** ...and those last written. */
  writtenPushAck = 0;
  writtenResponseAck = 0;
  /** The last flush found it gone from the backend, record and all (see `#endVanished`). */
  suspectedLost = false;
  /** Requests the client waits on that another server runs, asked about again each tick. */
  readonly waiting = new Map<number, Waiting>();

  /** `store` is what every session of one store does (the store's own host). */
  constructor(readonly store: SessionHost) {}

  end(session: ServerSession, reason: ServerSessionEndReason): void {
    this.store.end(session, reason);
  }

  push(session: ServerSession, message: PushMessage, frame: Uint8Array): void {
    this.store.push(session, message, frame);
  }

  admit(session: ServerSession, request: IncomingRequest): boolean | Promise<boolean> {
    return this.store.admit(session, request);
  }

  answered(session: ServerSession, response: ResponseMessage, frame: Uint8Array): void {
    this.store.answered(session, response, frame);
  }

  acknowledged(session: ServerSession, pushAck: number, responseAck: number): void {
    this.store.acknowledged(session, pushAck, responseAck);
  }
}
