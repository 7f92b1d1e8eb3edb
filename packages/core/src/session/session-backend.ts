import type { PushMessage, ResponseMessage, ServerSessionEndReason } from "./server-session.js";

/**
 * What a shared backend says about a request a client sent: run it here (it is now recorded
 * as running on this server), it is stale or a duplicate, the session is gone, it was answered
 * already, or another server runs it.
 */
export type RequestAdmission =
  | { kind: "run" }
  | { kind: "refused" }
  | { kind: "gone" }
  | { kind: "answered"; response: ResponseMessage }
  | { kind: "elsewhere"; server: string };

/** A request of a batch `admit` decides: the session's id and the request's seq. */
export interface RequestRef {
  readonly id: string;
  readonly seq: number;
}

/** An answer of a batch `complete` keeps: made by `runner` for request `response.seq` of session `id`. */
export interface AnswerToKeep {
  readonly id: string;
  readonly response: ResponseMessage;
  readonly runner: string;
  /**
   * The answer as the client gets it (`encodeFrame(encodeServerMessage(response))`), when the
   * server made that already: a backend that keeps bytes can keep these instead of encoding
   * the answer again.
   */
  readonly frame?: Uint8Array | undefined;
}

/** What `complete` did with one answer. */
export type KeptAnswer = "kept" | "refused" | "full";

/** A session as `create` writes it. */
export interface NewSessionRecord {
  readonly id: string;
  /**
   * The session's password. A backend outside this process keeps a digest of it (SHA-256), never
   * the password itself, and compares digests.
   */
  readonly password: Uint8Array;
  readonly timeout: number;
  readonly principal: unknown;
  /** Its first deadline bucket. */
  readonly deadline: number;
}

/** What a resume finds: the session's record and everything the client has not acknowledged. */
export interface ResumedSession {
  readonly timeout: number;
  readonly principal: unknown;
  /** Counts resumes: a `moved` notice older than this server's own resume is stale. */
  readonly epoch: number;
  /** The deadline bucket the resume wrote (the Hello counts as a frame). */
  readonly deadline: number;
  /** The last push number given out. */
  readonly lastPushSeq: number;
  /** Every answer below this was acknowledged. */
  readonly responseAck: number;
  readonly pushes: readonly PushMessage[];
  readonly responses: readonly ResponseMessage[];
  /** `session.data` as last written (plain MessagePack), if ever. */
  readonly data?: Uint8Array | undefined;
}

/** A session this server won the right to end: it is no longer live in the backend. */
export interface ClaimedSession {
  readonly id: string;
  /** Why it ends: `expired` for a deadline, else what the claim that ended it said. */
  readonly reason: ServerSessionEndReason;
  /** The server that carried it, told of the end by `release`. */
  readonly owner: string;
  readonly timeout: number;
  readonly principal: unknown;
  /** `session.data` as last written, for the expire listeners of the server that ends it. */
  readonly data?: Uint8Array | undefined;
}

/** Who holds a claim, and until when, so another server takes it over if its holder dies. */
export interface ClaimLease {
  readonly claimer: string;
  /** The backend's time now (leases that ran out by then are taken over). */
  readonly now: number;
  readonly until: number;
}

/** A carried session as the backend has it now, read after messages may have been missed. */
export interface SessionSnapshot {
  readonly live: boolean;
  readonly owner: string;
  /** Pushes after the number asked for, in order. */
  readonly pushes: readonly PushMessage[];
  readonly responses: readonly ResponseMessage[];
}

/** What the backend tells this server about a session it carries. */
export type BackendMessage =
  | { kind: "push"; id: string; push: PushMessage }
  | { kind: "response"; id: string; response: ResponseMessage }
  | { kind: "moved"; id: string; epoch: number }
  | { kind: "ended"; id: string; reason: ServerSessionEndReason };

export interface BackendListener {
  message(message: BackendMessage): void;
  /** Messages may have been lost (the subscription dropped and is back): re-read every session. */
  resync(): void;
}

/**
 * The primitives a shared session store needs from where the sessions live (Redis, a SQL
 * database, etcd): liveness and ownership, with each session's unacknowledged pushes and
 * answers. {@link SharedSessionStore} builds the session protocol on them once: touch batching,
 * expiry claims, stall hold-back, resync, lost requests. Every call that changes a session is
 * atomic in the backend; calls may fail (the store retries or reports); none may be answered
 * twice. Run `@tether/store-conformance` against a new backend before it carries a session.
 */
export interface SessionBackend {
  /** Starts delivering messages for `serverId`; resolves once none can be missed. */
  subscribe(serverId: string, listener: BackendListener): Promise<void>;
  /** Writes a new live session owned by `owner`; false if the id is taken. */
  create(record: NewSessionRecord, owner: string): Promise<boolean>;
  /**
   * Checks the password of a live session (in time that does not depend on where it differs)
   * and makes `owner` its carrier (telling the
   * previous carrier `moved`, with the new epoch); its deadline moves to the bucket of `now`.
   * `undefined` for unknown, ending and wrong-password sessions alike.
   */
  resume(
    id: string,
    password: Uint8Array,
    owner: string,
    now: number,
    tickTime: number,
  ): Promise<ResumedSession | undefined>;
  /**
   * Moves deadlines later (never earlier, never reviving a claimed session) and marks `serverId`
   * alive until `aliveUntil` (the stores' shared time, as deadlines are). Resolves to how many
   * deadlines moved: fewer than given means some sessions are missing.
   */
  flushDeadlines(
    deadlines: ReadonlyArray<readonly [id: string, deadline: number]>,
    serverId: string,
    aliveUntil: number,
  ): Promise<number>;
  /** For each id: true if the backend has no trace of it (no deadline, no record). */
  vanished(ids: readonly string[]): Promise<boolean[]>;
  /**
   * Claims up to `limit` sessions to end: live ones whose deadline is at or before `upTo`, and
   * claimed ones never released whose lease ran out, if their claimer is no longer alive (it
   * died before its listeners ran: alive until no later than `lease.now`) or is this claimer
   * (it lost the reply). Each claim holds a
   * lease until `lease.until`.
   */
  claimDue(upTo: number, limit: number, lease: ClaimLease): Promise<ClaimedSession[]>;
  /** Claims one live session to end it now, for `reason`; `undefined` if it is not live. */
  claim(id: string, reason: ServerSessionEndReason, lease: ClaimLease): Promise<ClaimedSession | undefined>;
  /** Finishes an end this server claimed: tells its carrier (if another server) and deletes it. */
  release(session: ClaimedSession, reason: ServerSessionEndReason, serverId: string): Promise<void>;
  /**
   * Numbers a push and tells the session's carrier: its number, `"gone"` if the session is not
   * live, `"full"` if `maxReplay` pushes wait unacknowledged (nothing is added).
   */
  appendPush(id: string, topic: string, body: unknown, maxReplay: number): Promise<number | "gone" | "full">;
  /**
   * Decides for each request whether it runs on `serverId`, in order, each as if asked alone
   * (the store hands over what arrived in one turn of the event loop at once). Asked again by
   * the same server, it says `run` again while that server is still the request's runner.
   */
  admit(requests: readonly RequestRef[], serverId: string): Promise<RequestAdmission[]>;
  /**
   * Takes back an admission whose answer this server never heard (a timeout): the request
   * is no longer `serverId`'s to run, if it was. Calls from one store reach the backend in the
   * order they are made, so this follows the admission it takes back.
   */
  withdraw(id: string, seq: number, serverId: string): Promise<void>;
  /**
   * Keeps each answer of a request its `runner` ran (only if it is still its runner and the
   * request has no answer yet: the first one stands) and sends it to the carrier if that is
   * another server: `"kept"`, `"refused"`, or `"full"` over `maxResponses`; in order, each as
   * if alone.
   */
  complete(answers: readonly AnswerToKeep[], maxResponses: number): Promise<KeptAnswer[]>;
  /** Keeps `data` (the session's `data`, plain MessagePack) for a live session, replacing what was. */
  writeData(id: string, data: Uint8Array): Promise<void>;
  /** Drops pushes up to `pushAck` and answers (and running marks) below `responseAck`. */
  acknowledge(id: string, pushAck: number, responseAck: number): Promise<void>;
  /** The session as kept now, with its pushes after `afterPushSeq`; `undefined` if unknown. */
  read(id: string, afterPushSeq: number): Promise<SessionSnapshot | undefined>;
  /** Whether server `serverId` marked itself alive until later than `now`. */
  alive(serverId: string, now: number): Promise<boolean>;
  /** Marks `serverId` gone (its running requests are lost at once) and releases connections. */
  close(serverId: string): Promise<void>;
}
