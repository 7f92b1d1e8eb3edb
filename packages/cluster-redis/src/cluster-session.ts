import {
  type IncomingRequest,
  type ResponseMessage,
  ServerSession,
  type ServerSessionEndReason,
  type SessionBounds,
  SessionExpiredError,
  type TrackedSession,
} from "@tether/core";

/** What the shared store says about a request a client sent. */
export type Admission =
  | { kind: "run" }
  | { kind: "refused" }
  | { kind: "gone" }
  | { kind: "answered"; response: ResponseMessage }
  | { kind: "elsewhere"; server: string };

/** What a cluster session needs from its store. */
export interface ClusterSessionHost {
  push(session: ClusterSession, topic: string, body: unknown): void;
  admit(session: ClusterSession, seq: number): Promise<Admission>;
  recordResponse(session: ClusterSession, response: ResponseMessage): void;
  noteAck(session: ClusterSession): void;
  /** Redis no longer has the session as live (it ended, or Redis lost it): end it here. */
  lost(session: ClusterSession): void;
}

/**
 * A session whose state lives in Redis, as one server sees it. Its buffers here are a cache of
 * what Redis keeps: pushes are numbered by Redis and arrive through the store, requests are
 * admitted by Redis (so each runs once in the cluster), answers and acknowledgements are
 * written back.
 */
export class ClusterSession extends ServerSession {
  /** @internal Ending has begun here (the store is claiming it): its frames no longer count. */
  closing = false;
  /** @internal Which resume of the session this object carries (0: opened here, not resumed). */
  epoch = 0;
  /** @internal When its latest frame arrived, on the store's clock. */
  lastTouch = 0;
  /** @internal The deadline bucket last written to Redis. */
  flushedDeadline = 0;
  /** @internal The client's latest acknowledgements, written at the next flush. */
  pushAck = 0;
  /** @internal */
  responseAck = 0;
  /** @internal The acknowledgements last written to Redis. */
  writtenPushAck = 0;
  /** @internal */
  writtenResponseAck = 0;
  /** @internal The last flush found it gone from Redis, record and all (see `endVanished`). */
  suspectedLost = false;
  /** @internal Requests the client waits on that another server runs: seq → that server's id. */
  readonly waiting = new Map<number, string>();

  constructor(
    tracked: TrackedSession,
    principal: unknown,
    bounds: SessionBounds,
    terminate: (session: ServerSession, reason: ServerSessionEndReason) => void,
    private readonly host: ClusterSessionHost,
  ) {
    super(tracked, principal, bounds, terminate);
  }

  /** Records the push in Redis; it reaches the client through the server carrying the session. */
  override push(topic: string, body: unknown): void {
    if (this.ended || this.closing) throw new SessionExpiredError(`session ${this.id} has ended`);
    this.host.push(this, topic, body);
  }

  override admit(request: IncomingRequest): boolean | Promise<boolean> {
    if (!this.admitHere(request)) return false;
    return this.host.admit(this, request.seq).then(
      (admission) => {
        if (admission.kind === "run") return true;
        this.withdraw(request.seq);
        if (admission.kind === "answered") this.deliverResponse(admission.response);
        else if (admission.kind === "elsewhere") this.waiting.set(request.seq, admission.server);
        else if (admission.kind === "gone" && !this.closing) this.host.lost(this);
        return false;
      },
      (error: unknown) => {
        this.withdraw(request.seq);
        throw error;
      },
    );
  }

  /** Every answer is kept, idempotent op or not: Redis records it for a resume on any server. */
  override complete(response: ResponseMessage, frame: Uint8Array, _keep?: boolean): boolean {
    const kept = super.complete(response, frame, true);
    if (kept) this.host.recordResponse(this, response);
    return kept;
  }

  override deliverResponse(response: ResponseMessage): boolean {
    this.waiting.delete(response.seq);
    return super.deliverResponse(response);
  }

  override acknowledge(pushAck: number, responseAck: number): void {
    super.acknowledge(pushAck, responseAck);
    // A client cannot have more pushes than were delivered: a larger ack is clamped.
    pushAck = Math.min(pushAck, this.deliveredPushSeq);
    if (pushAck > this.pushAck || responseAck > this.responseAck) {
      this.pushAck = Math.max(this.pushAck, pushAck);
      this.responseAck = Math.max(this.responseAck, responseAck);
      this.host.noteAck(this);
    }
  }
}
