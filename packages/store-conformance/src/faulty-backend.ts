import type {
  AnswerToKeep,
  BackendListener,
  BackendMessage,
  ClaimedSession,
  ClaimLease,
  KeptAnswer,
  NewSessionRecord,
  RequestAdmission,
  RequestRef,
  ResumedSession,
  ServerSessionEndReason,
  SessionBackend,
  SessionSnapshot,
} from "@tether/core";

/** A reply a fault wrapper swallowed: the call ran in the backend, its answer never came back. */
export class LostReplyError extends Error {
  override readonly name = "LostReplyError";
}

type Method = Exclude<keyof SessionBackend, "subscribe" | "close">;

/**
 * Wraps a backend and spoils its traffic the way a network and a busy store do: holds replies
 * (a slow link) or calls (a frozen backend, which runs them when it wakes), hands held ones
 * on in reverse order, loses a reply after the call ran (a timed-out command that still
 * executed), or drops a call before it arrives.
 */
export class FaultyBackend implements SessionBackend {
  readonly #inner: SessionBackend;
  #holding: "replies" | "calls" | undefined;
  #cutOff = false;
  #held: Array<{ method: Method; pass: () => void }> = [];
  readonly #lose = new Map<Method, number>();
  readonly #fail = new Map<Method, number>();
  /** How many calls of each method were failed by `failNext`. */
  readonly failed = new Map<Method, number>();
  /** How many replies of each method were lost by `loseNextReply`. */
  readonly lost = new Map<Method, number>();
  /** The kinds of the messages the backend delivered to this store, in order (they are never spoiled). */
  readonly heard: BackendMessage["kind"][] = [];

  constructor(inner: SessionBackend) {
    this.#inner = inner;
  }

  /**
   * From now on replies (the backend has each call, the caller hears nothing), or calls (the
   * backend has nothing yet), wait until `releaseHeld()`.
   */
  hold(what: "replies" | "calls" = "replies"): void {
    this.#holding = what;
  }

  /** How many replies or calls are held now (of `method`, if given). */
  heldCount(method?: Method): number {
    return this.#held.filter((held) => method === undefined || held.method === method).length;
  }

  /** Hands on everything held, in call order or reversed, and stops holding. */
  releaseHeld(order: "in-order" | "reversed" = "in-order"): void {
    this.#holding = undefined;
    const held = order === "reversed" ? this.#held.reverse() : this.#held;
    this.#held = [];
    for (const { pass } of held) pass();
  }

  /** The next `count` replies of `method` are lost: the call runs, the caller gets `LostReplyError`. */
  loseNextReply(method: Method, count = 1): void {
    this.#lose.set(method, (this.#lose.get(method) ?? 0) + count);
  }

  /** The next `count` calls of `method` never reach the backend: the caller gets `LostReplyError`. */
  failNext(method: Method, count = 1): void {
    this.#fail.set(method, (this.#fail.get(method) ?? 0) + count);
  }

  /** Every call fails at once (`LostReplyError`) until `heal()`: a backend out of reach. */
  cutOff(): void {
    this.#cutOff = true;
  }

  /** Ends `cutOff()` and forgets the failures and losses still to come (what is held stays held). */
  heal(): void {
    this.#cutOff = false;
    this.#fail.clear();
    this.#lose.clear();
  }

  subscribe(serverId: string, listener: BackendListener): Promise<void> {
    return this.#inner.subscribe(serverId, {
      message: (message) => {
        this.heard.push(message.kind);
        listener.message(message);
      },
      resync: () => listener.resync(),
    });
  }

  create(record: NewSessionRecord, owner: string): Promise<boolean> {
    return this.#spoil("create", () => this.#inner.create(record, owner));
  }

  resume(
    id: string,
    password: Uint8Array,
    owner: string,
    now: number,
    tickTime: number,
  ): Promise<ResumedSession | undefined> {
    return this.#spoil("resume", () => this.#inner.resume(id, password, owner, now, tickTime));
  }

  flushDeadlines(
    deadlines: ReadonlyArray<readonly [string, number]>,
    serverId: string,
    aliveUntil: number,
  ): Promise<number> {
    return this.#spoil("flushDeadlines", () => this.#inner.flushDeadlines(deadlines, serverId, aliveUntil));
  }

  vanished(ids: readonly string[]): Promise<boolean[]> {
    return this.#spoil("vanished", () => this.#inner.vanished(ids));
  }

  claimDue(upTo: number, limit: number, lease: ClaimLease): Promise<ClaimedSession[]> {
    return this.#spoil("claimDue", () => this.#inner.claimDue(upTo, limit, lease));
  }

  claim(id: string, reason: ServerSessionEndReason, lease: ClaimLease): Promise<ClaimedSession | undefined> {
    return this.#spoil("claim", () => this.#inner.claim(id, reason, lease));
  }

  release(session: ClaimedSession, reason: ServerSessionEndReason, serverId: string): Promise<void> {
    return this.#spoil("release", () => this.#inner.release(session, reason, serverId));
  }

  appendPush(id: string, topic: string, body: unknown, maxReplay: number): Promise<number | "gone" | "full"> {
    return this.#spoil("appendPush", () => this.#inner.appendPush(id, topic, body, maxReplay));
  }

  admit(requests: readonly RequestRef[], serverId: string): Promise<RequestAdmission[]> {
    return this.#spoil("admit", () => this.#inner.admit(requests, serverId));
  }

  withdraw(id: string, seq: number, serverId: string): Promise<void> {
    return this.#spoil("withdraw", () => this.#inner.withdraw(id, seq, serverId));
  }

  complete(answers: readonly AnswerToKeep[], maxResponses: number): Promise<KeptAnswer[]> {
    return this.#spoil("complete", () => this.#inner.complete(answers, maxResponses));
  }

  writeData(id: string, data: Uint8Array): Promise<void> {
    return this.#spoil("writeData", () => this.#inner.writeData(id, data));
  }

  acknowledge(id: string, pushAck: number, responseAck: number): Promise<void> {
    return this.#spoil("acknowledge", () => this.#inner.acknowledge(id, pushAck, responseAck));
  }

  read(id: string, afterPushSeq: number): Promise<SessionSnapshot | undefined> {
    return this.#spoil("read", () => this.#inner.read(id, afterPushSeq));
  }

  alive(serverId: string, now: number): Promise<boolean> {
    return this.#spoil("alive", () => this.#inner.alive(serverId, now));
  }

  close(serverId: string): Promise<void> {
    return this.#inner.close(serverId);
  }

  #spoil<T>(method: Method, call: () => Promise<T>): Promise<T> {
    if (this.#cutOff || take(this.#fail, method)) {
      this.failed.set(method, (this.failed.get(method) ?? 0) + 1);
      return Promise.reject(new LostReplyError(`${method}: the call was dropped`));
    }
    const lost = take(this.#lose, method);
    if (lost) this.lost.set(method, (this.lost.get(method) ?? 0) + 1);
    return new Promise<T>((resolve, reject) => {
      const settle = (deliver: () => void) => {
        if (this.#holding === "replies") this.#held.push({ method, pass: deliver });
        else deliver();
      };
      const send = () =>
        call().then(
          (value) =>
            settle(() => (lost ? reject(new LostReplyError(`${method}: reply lost`)) : resolve(value))),
          (error: unknown) => settle(() => reject(error)),
        );
      if (this.#holding === "calls") this.#held.push({ method, pass: send });
      else send();
    });
  }
}

/** Takes one from a countdown; true if there was one. */
function take(counts: Map<Method, number>, method: Method): boolean {
  const left = counts.get(method) ?? 0;
  if (left > 0) counts.set(method, left - 1);
  return left > 0;
}
