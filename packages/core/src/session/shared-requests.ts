import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { CarriedSession, Waiting } from "./carried-session.js";
import { MessageType, RequestErrorCode } from "./protocol.js";
import type { ResponseMessage, ServerSession } from "./server-session.js";
import type { RequestAdmission, SessionBackend } from "./session-backend.js";

/** What the requests of a shared store need from the store. */
export interface SharedRequestsContext {
  readonly backend: SessionBackend;
  /** This server run's id in the backend. */
  readonly serverId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly maxResponses: number;
  /** Remembers an operation, so that closing the store waits for it. */
  track<T>(operation: Promise<T>): Promise<T>;
  /** The record of a session this server carries. */
  carried(id: string): CarriedSession | undefined;
  /** The backend has the session no more: it ends here. */
  gone(carried: CarriedSession): void;
}

/**
 * Where each request of a shared store's sessions runs: once among every server. The backend
 * admits it (here, or it runs elsewhere, or it was answered); a server that waits on another
 * asks again each tick, and one whose admission's reply never came takes it back, so every
 * request ends with one outcome even when replies are lost and servers die.
 */
export class SharedRequests {
  readonly #context: SharedRequestsContext;
  /**
   * Admissions whose answer never came (a timeout): the backend may have made this server the
   * request's runner after all. Each is taken back (`withdraw`) until that succeeds, so the
   * request can run on the server its client moves to. Keyed `id seq`.
   */
  readonly #doubtful = new Map<string, { id: string; seq: number }>();

  constructor(context: SharedRequestsContext) {
    this.#context = context;
  }

  /** Whether request `seq` of `session` runs here; settled later if another server runs it. */
  async admit(session: ServerSession, seq: number): Promise<boolean> {
    const { backend, serverId, track } = this.#context;
    const key = `${session.id} ${seq}`;
    this.#doubtful.delete(key); // asked again: whatever the backend says now stands
    let admission: RequestAdmission;
    try {
      admission = await track(backend.admit(session.id, seq, serverId));
    } catch (error) {
      // The backend may have made this server the runner all the same: take that back.
      this.#doubtful.set(key, { id: session.id, seq });
      session.withdraw(seq);
      throw error;
    }
    if (admission.kind === "run") return true;
    const carried = this.#context.carried(session.id);
    if (admission.kind === "elsewhere" && carried !== undefined && carried.session === session) {
      // Settled when its answer comes, or when it turns out to be this server's to run.
      return new Promise((decide) => carried.waiting.set(seq, { decide }));
    }
    session.withdraw(seq);
    this.#refused(session, carried, admission);
    return false;
  }

  /** Keeps an answer `runner` made; a backend that fails to is logged, the answer not kept. */
  complete(id: string, response: ResponseMessage, runner: string): Promise<"kept" | "refused" | "full"> {
    const { backend, maxResponses, track, logger } = this.#context;
    return track(backend.complete(id, response, runner, maxResponses)).catch((error: unknown) => {
      logger.error({ err: error, session: id, seq: response.seq }, "could not keep an answer");
      return "refused" as const;
    });
  }

  /** An answer for the session (made here or elsewhere): settles a wait on it, and delivers it. */
  deliver(session: ServerSession, carried: CarriedSession | undefined, response: ResponseMessage): void {
    const waiting = carried?.waiting.get(response.seq);
    if (waiting !== undefined) {
      carried?.waiting.delete(response.seq);
      session.withdraw(response.seq);
      waiting.decide(false);
    }
    session.deliverResponse(response);
  }

  /** Once a tick: asks again about what `sessions` wait on, and takes back doubtful admissions. */
  async settle(sessions: Iterable<CarriedSession>): Promise<void> {
    const checks: Promise<void>[] = [];
    for (const carried of sessions) {
      for (const [seq, waiting] of carried.waiting) checks.push(this.#askAgain(carried, seq, waiting));
    }
    await Promise.all([Promise.all(checks), this.#withdrawDoubtful()]);
  }

  /**
   * A request the client waits on that another server runs: it may have been answered, its
   * runner may have died (it is answered `server-lost`: at most once, never run again), or its
   * runner may have taken its admission back (it runs here).
   */
  async #askAgain(carried: CarriedSession, seq: number, waiting: Waiting): Promise<void> {
    const { backend, serverId, track, clock } = this.#context;
    const session = carried.session;
    const admission = await track(backend.admit(session.id, seq, serverId));
    if (carried.waiting.get(seq) !== waiting) return; // settled meanwhile
    if (admission.kind === "elsewhere") {
      if (await track(backend.alive(admission.server, clock.now()))) return;
      const lost: ResponseMessage = {
        type: MessageType.ErrorResponse,
        seq,
        code: RequestErrorCode.ServerLost,
        message: `the server running this request (${admission.server}) died before answering`,
      };
      if ((await this.complete(session.id, lost, admission.server)) === "kept")
        this.deliver(session, carried, lost);
      return;
    }
    carried.waiting.delete(seq);
    if (admission.kind === "run") {
      waiting.decide(true);
      return;
    }
    session.withdraw(seq);
    waiting.decide(false);
    this.#refused(session, carried, admission);
  }

  /** A request this server will not run: deliver its answer if it has one. */
  #refused(session: ServerSession, carried: CarriedSession | undefined, admission: RequestAdmission): void {
    if (admission.kind === "answered") session.deliverResponse(admission.response);
    else if (admission.kind === "gone" && carried !== undefined) this.#context.gone(carried);
  }

  /** Takes back the admissions whose answer never came, until the backend confirms each. */
  async #withdrawDoubtful(): Promise<void> {
    const { backend, serverId, track } = this.#context;
    const withdrawals = [...this.#doubtful].map(async ([key, entry]) => {
      await track(backend.withdraw(entry.id, entry.seq, serverId));
      if (this.#doubtful.get(key) === entry) this.#doubtful.delete(key);
    });
    // One that fails is tried again next tick; the others stand.
    await Promise.allSettled(withdrawals);
  }
}
