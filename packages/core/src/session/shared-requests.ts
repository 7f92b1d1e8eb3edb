import type { Clock } from "../clock.js";
import { copyBytes } from "../copy-bytes.js";
import type { Logger } from "../logger.js";
import type { CarriedSession, Waiting } from "./carried-session.js";
import { MessageType, RequestErrorCode } from "./protocol.js";
import type { ResponseMessage, ServerSession } from "./server-session.js";
import type {
  AnswerToKeep,
  KeptAnswer,
  RequestAdmission,
  RequestRef,
  SessionBackend,
} from "./session-backend.js";
import { TurnBatch } from "./turn-batch.js";

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
  /** The session's kept answers reached `maxResponses` in the backend: it ends. */
  overflowed(session: ServerSession): void;
}

/** A request waiting for the backend's decision. */
interface PendingAdmission extends RequestRef {
  readonly session: ServerSession;
  decide(run: boolean): void;
  fail(error: unknown): void;
}

/** An answer on its way to the backend; `settled` hears what became of it. */
interface PendingAnswer extends AnswerToKeep {
  readonly session: ServerSession | undefined;
  readonly settled: ((kept: KeptAnswer) => void) | undefined;
}

/**
 * Where each request of a shared store's sessions runs: once among every server. The backend
 * admits it (here, or it runs elsewhere, or it was answered); a server that waits on another
 * asks again each tick, and one whose admission's reply never came takes it back, so every
 * request ends with one outcome even when replies are lost and servers die. Admissions and
 * answers of one turn of the event loop go to the backend as one call each.
 */
export class SharedRequests {
  readonly #context: SharedRequestsContext;
  /**
   * Admissions whose answer never came (a timeout): the backend may have made this server the
   * request's runner after all. Each is taken back (`withdraw`) until that succeeds, so the
   * request can run on the server its client moves to. Keyed `id seq`.
   */
  readonly #doubtful = new Map<string, { id: string; seq: number }>();
  readonly #admissions = new TurnBatch<PendingAdmission>((batch) => void this.#admitBatch(batch));
  readonly #answers = new TurnBatch<PendingAnswer>((batch) => void this.#keepBatch(batch));

  constructor(context: SharedRequestsContext) {
    this.#context = context;
  }

  /** Whether request `seq` of `session` runs here; settled later if another server runs it. */
  admit(session: ServerSession, seq: number): Promise<boolean> {
    // Asked again: whatever the backend says now stands.
    if (this.#doubtful.size > 0) this.#doubtful.delete(`${session.id} ${seq}`);
    return new Promise((decide, fail) =>
      this.#admissions.add({ id: session.id, seq, session, decide, fail }),
    );
  }

  /**
   * Keeps an answer `runner` made for `session` (ended if its kept answers overflow), with its
   * wire frame if at hand; a backend that fails to is logged, the answer not kept. `settled`
   * hears the outcome.
   */
  complete(
    session: ServerSession,
    response: ResponseMessage,
    runner: string,
    frame?: Uint8Array,
    settled?: (kept: KeptAnswer) => void,
  ): void {
    // A copy: the answer's frame may be in memory reused once this turn ends (`encodeFrameForTurn`).
    this.#answers.add({
      id: session.id,
      response,
      runner,
      frame: frame && copyBytes(frame),
      session,
      settled,
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

  async #admitBatch(batch: PendingAdmission[]): Promise<void> {
    const { backend, serverId, track } = this.#context;
    let admissions: RequestAdmission[];
    try {
      admissions = await track(backend.admit(batch, serverId));
      if (admissions.length !== batch.length)
        throw new Error(`the backend decided ${admissions.length} of ${batch.length} requests`);
    } catch (error) {
      for (const { id, seq, session, fail } of batch) {
        // The backend may have made this server the runner all the same: take that back.
        this.#doubtful.set(`${id} ${seq}`, { id, seq });
        session.withdraw(seq);
        fail(error);
      }
      return;
    }
    for (let i = 0; i < batch.length; i++)
      this.#decide(batch[i] as PendingAdmission, admissions[i] as RequestAdmission);
  }

  #decide({ session, seq, decide }: PendingAdmission, admission: RequestAdmission): void {
    if (admission.kind === "run") {
      decide(true);
      return;
    }
    const carried = this.#context.carried(session.id);
    if (admission.kind === "elsewhere" && carried !== undefined && carried.session === session) {
      // Settled when its answer comes, or when it turns out to be this server's to run.
      carried.waiting.set(seq, { decide });
      return;
    }
    session.withdraw(seq);
    this.#refused(session, carried, admission);
    decide(false);
  }

  async #keepBatch(batch: PendingAnswer[]): Promise<void> {
    const { backend, maxResponses, track, logger } = this.#context;
    let kept: KeptAnswer[];
    try {
      kept = await track(backend.complete(batch, maxResponses));
    } catch (error) {
      logger.error({ err: error, session: batch[0]?.id, answers: batch.length }, "could not keep answers");
      kept = batch.map(() => "refused");
    }
    for (let i = 0; i < batch.length; i++) {
      const { session, settled } = batch[i] as PendingAnswer;
      const outcome = kept[i] ?? "refused";
      if (outcome === "full" && session !== undefined) this.#context.overflowed(session);
      settled?.(outcome);
    }
  }

  /**
   * A request the client waits on that another server runs: it may have been answered, its
   * runner may have died (it is answered `server-lost`: at most once, never run again), or its
   * runner may have taken its admission back (it runs here).
   */
  async #askAgain(carried: CarriedSession, seq: number, waiting: Waiting): Promise<void> {
    const { backend, serverId, track, clock } = this.#context;
    const session = carried.session;
    const [admission] = await track(backend.admit([{ id: session.id, seq }], serverId));
    if (carried.waiting.get(seq) !== waiting || admission === undefined) return; // settled meanwhile
    if (admission.kind === "elsewhere") {
      if (await track(backend.alive(admission.server, clock.now()))) return;
      const lost: ResponseMessage = {
        type: MessageType.ErrorResponse,
        seq,
        code: RequestErrorCode.ServerLost,
        message: `the server running this request (${admission.server}) died before answering`,
      };
      const kept = await new Promise<KeptAnswer>((settled) =>
        this.complete(session, lost, admission.server, undefined, settled),
      );
      if (kept === "kept") this.deliver(session, carried, lost);
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
