import { encodeFrame } from "../channel/msgpack-codec.js";
import { copyBytes } from "../copy-bytes.js";
import { MessageType } from "./protocol.js";
import type { PushMessage, ResponseMessage, ServerSessionEndReason } from "./server-session.js";
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
  SessionBackend,
  SessionSnapshot,
} from "./session-backend.js";
import { NO_PASSWORD, sameSecret } from "./session-secrets.js";

/** One session as the backend keeps it. */
interface SessionRecord {
  readonly id: string;
  /** In this process only, so the password itself (a copy), compared in constant time. */
  readonly password: Uint8Array;
  readonly timeout: number;
  readonly principal: unknown;
  owner: string;
  live: boolean;
  /** Once claimed: by whom, why, and until when the claim holds. */
  claim?: { claimer: string; reason: ServerSessionEndReason; until: number };
  epoch: number;
  deadline: number;
  pushSeq: number;
  /** Unacknowledged pushes, in order. */
  pushes: PushMessage[];
  /** Kept answers by seq. */
  readonly responses: Map<number, ResponseMessage>;
  /** Running requests: seq → the server running it. */
  readonly running: Map<number, string>;
  responseAck: number;
  data?: Uint8Array;
}

/**
 * A {@link SessionBackend} in this process: the shared store's engine on plain maps, for
 * several servers in one process and for testing the engine (and fault wrappers around a
 * backend) without Redis. Each call is atomic because it runs to completion; messages to a
 * server arrive on a later microtask, as they would over a bus. Nothing survives the process.
 */
export class MemorySessionBackend implements SessionBackend {
  readonly #records = new Map<string, SessionRecord>();
  /** Deadline bucket → ids due then. */
  readonly #due = new Map<number, Set<string>>();
  readonly #listeners = new Map<string, BackendListener>();
  /** Claimed and not yet released. */
  readonly #claimed = new Set<string>();
  /** Server → until when it counts as alive. */
  readonly #aliveUntil = new Map<string, number>();

  /** Forgets every session, as a backend restarted without persistence would. */
  wipe(): void {
    this.#records.clear();
    this.#due.clear();
    this.#claimed.clear();
  }

  async subscribe(serverId: string, listener: BackendListener): Promise<void> {
    this.#listeners.set(serverId, listener);
  }

  async create(record: NewSessionRecord, owner: string): Promise<boolean> {
    if (this.#records.has(record.id)) return false;
    this.#records.set(record.id, {
      ...record,
      password: copyBytes(record.password),
      owner,
      live: true,
      epoch: 0,
      pushSeq: 0,
      pushes: [],
      responses: new Map(),
      running: new Map(),
      responseAck: 1,
    });
    this.#schedule(record.id, record.deadline);
    return true;
  }

  async resume(
    id: string,
    password: Uint8Array,
    owner: string,
    now: number,
    tickTime: number,
  ): Promise<ResumedSession | undefined> {
    const record = this.#records.get(id);
    const matches = sameSecret(record?.password ?? NO_PASSWORD, password);
    if (record === undefined || !record.live || !matches) return undefined;
    const deadline = (Math.floor((now + record.timeout) / tickTime) + 1) * tickTime;
    if (deadline > record.deadline) this.#schedule(id, deadline);
    record.epoch++;
    if (record.owner !== owner) {
      this.#tell(record.owner, { kind: "moved", id, epoch: record.epoch });
      record.owner = owner;
    }
    return {
      timeout: record.timeout,
      principal: record.principal,
      epoch: record.epoch,
      deadline,
      lastPushSeq: record.pushSeq,
      responseAck: record.responseAck,
      pushes: [...record.pushes],
      responses: [...record.responses.values()],
      data: record.data,
    };
  }

  async flushDeadlines(
    deadlines: ReadonlyArray<readonly [string, number]>,
    serverId: string,
    aliveUntil: number,
  ): Promise<number> {
    this.#aliveUntil.set(serverId, aliveUntil);
    let moved = 0;
    for (const [id, deadline] of deadlines) {
      const record = this.#records.get(id);
      if (record === undefined || !record.live || deadline <= record.deadline) continue;
      this.#schedule(id, deadline);
      moved++;
    }
    return moved;
  }

  async vanished(ids: readonly string[]): Promise<boolean[]> {
    return ids.map((id) => !this.#records.has(id));
  }

  async claimDue(upTo: number, limit: number, lease: ClaimLease): Promise<ClaimedSession[]> {
    const claimed: ClaimedSession[] = [];
    const buckets = [...this.#due.keys()].filter((time) => time <= upTo).sort((a, b) => a - b);
    for (const time of buckets) {
      for (const id of this.#due.get(time) ?? []) {
        if (claimed.length === limit) return claimed;
        const session = this.#claimRecord(id, "expired", lease);
        if (session !== undefined) claimed.push(session);
      }
    }
    // Claims never released: their claimer died, or lost the reply.
    for (const id of this.#claimed) {
      if (claimed.length === limit) break;
      const record = this.#records.get(id);
      const claim = record?.claim;
      if (record === undefined || claim === undefined || claim.until > lease.now) continue;
      if (claim.claimer !== lease.claimer && (await this.alive(claim.claimer, lease.now))) {
        claim.until = lease.until; // its claimer lives: look again after another lease
        continue;
      }
      record.claim = { ...claim, claimer: lease.claimer, until: lease.until };
      claimed.push(claimedOf(record, claim.reason));
    }
    return claimed;
  }

  async claim(
    id: string,
    reason: ServerSessionEndReason,
    lease: ClaimLease,
  ): Promise<ClaimedSession | undefined> {
    return this.#claimRecord(id, reason, lease);
  }

  async release(session: ClaimedSession, reason: ServerSessionEndReason, serverId: string): Promise<void> {
    if (session.owner !== serverId) this.#tell(session.owner, { kind: "ended", id: session.id, reason });
    this.#records.delete(session.id);
    this.#claimed.delete(session.id);
  }

  async appendPush(
    id: string,
    topic: string,
    body: unknown,
    maxReplay: number,
  ): Promise<number | "gone" | "full"> {
    encodeFrame([topic, body]); // the wire codec's plain check, before anything is kept
    const record = this.#records.get(id);
    if (record === undefined || !record.live) return "gone";
    if (record.pushes.length >= maxReplay) return "full";
    const push: PushMessage = { type: MessageType.Push, seq: ++record.pushSeq, topic, body };
    record.pushes.push(push);
    this.#tell(record.owner, { kind: "push", id, push });
    return push.seq;
  }

  async admit(requests: readonly RequestRef[], serverId: string): Promise<RequestAdmission[]> {
    return requests.map(({ id, seq }) => this.#admit(id, seq, serverId));
  }

  #admit(id: string, seq: number, serverId: string): RequestAdmission {
    const record = this.#records.get(id);
    if (record === undefined || !record.live) return { kind: "gone" };
    if (seq < record.responseAck) return { kind: "refused" };
    const response = record.responses.get(seq);
    if (response !== undefined) return { kind: "answered", response };
    const runner = record.running.get(seq);
    if (runner !== undefined && runner !== serverId) return { kind: "elsewhere", server: runner };
    record.running.set(seq, serverId);
    return { kind: "run" };
  }

  async withdraw(id: string, seq: number, serverId: string): Promise<void> {
    const record = this.#records.get(id);
    if (record?.running.get(seq) === serverId) record.running.delete(seq);
  }

  async complete(answers: readonly AnswerToKeep[], maxResponses: number): Promise<KeptAnswer[]> {
    return answers.map(({ id, response, runner }) => this.#complete(id, response, runner, maxResponses));
  }

  #complete(id: string, response: ResponseMessage, runner: string, maxResponses: number): KeptAnswer {
    const record = this.#records.get(id);
    if (record === undefined || !record.live || record.running.get(response.seq) !== runner) return "refused";
    record.running.delete(response.seq);
    if (record.responses.size >= maxResponses) return "full";
    record.responses.set(response.seq, response);
    if (record.owner !== runner) this.#tell(record.owner, { kind: "response", id, response });
    return "kept";
  }

  async writeData(id: string, data: Uint8Array): Promise<void> {
    const record = this.#records.get(id);
    if (record?.live) record.data = data;
  }

  async acknowledge(id: string, pushAck: number, responseAck: number): Promise<void> {
    const record = this.#records.get(id);
    if (record === undefined) return;
    record.pushes = record.pushes.filter((push) => push.seq > pushAck);
    if (responseAck <= record.responseAck) return;
    record.responseAck = responseAck;
    for (const seq of record.responses.keys()) if (seq < responseAck) record.responses.delete(seq);
    for (const seq of record.running.keys()) if (seq < responseAck) record.running.delete(seq);
  }

  async read(id: string, afterPushSeq: number): Promise<SessionSnapshot | undefined> {
    const record = this.#records.get(id);
    if (record === undefined) return undefined;
    return {
      live: record.live,
      owner: record.owner,
      pushes: record.pushes.filter((push) => push.seq > afterPushSeq),
      responses: [...record.responses.values()],
    };
  }

  async alive(serverId: string, now: number): Promise<boolean> {
    return (this.#aliveUntil.get(serverId) ?? Number.NEGATIVE_INFINITY) > now;
  }

  async close(serverId: string): Promise<void> {
    this.#aliveUntil.delete(serverId);
    this.#listeners.delete(serverId);
  }

  #schedule(id: string, deadline: number): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    this.#unschedule(record);
    record.deadline = deadline;
    const bucket = this.#due.get(deadline) ?? new Set<string>();
    bucket.add(id);
    this.#due.set(deadline, bucket);
  }

  #unschedule(record: SessionRecord): void {
    const bucket = this.#due.get(record.deadline);
    if (bucket === undefined) return;
    bucket.delete(record.id);
    if (bucket.size === 0) this.#due.delete(record.deadline);
  }

  /** Live → ending, off the deadline queue: only one claim of a session succeeds. */
  #claimRecord(id: string, reason: ServerSessionEndReason, lease: ClaimLease): ClaimedSession | undefined {
    const record = this.#records.get(id);
    if (record === undefined || !record.live) return undefined;
    record.live = false;
    record.claim = { claimer: lease.claimer, reason, until: lease.until };
    this.#claimed.add(id);
    this.#unschedule(record);
    return claimedOf(record, reason);
  }

  /** A message to a server, on a later microtask (as over a bus; never inside the caller's call). */
  #tell(serverId: string, message: BackendMessage): void {
    const listener = this.#listeners.get(serverId);
    if (listener !== undefined) queueMicrotask(() => listener.message(message));
  }
}

function claimedOf(record: SessionRecord, reason: ServerSessionEndReason): ClaimedSession {
  const { id, owner, timeout, principal, data } = record;
  return { id, reason, owner, timeout, principal, data };
}
