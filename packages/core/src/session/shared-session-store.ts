import { EventEmitter } from "eventemitter3";
import { encodeFrame } from "../channel/msgpack-codec.js";
import { type Clock, runWhenOnTime, type TimerHandle } from "../clock.js";
import { copyBytes } from "../copy-bytes.js";
import { SessionExpiredError, SessionMovedError } from "../errors.js";
import type { Logger } from "../logger.js";
import { CarriedSession } from "./carried-session.js";
import { CloseCode } from "./protocol.js";
import {
  ServerSession,
  type ServerSessionEndReason,
  type SessionBounds,
  type SessionHost,
} from "./server-session.js";
import type {
  BackendMessage,
  ClaimedSession,
  ClaimLease,
  ResumedSession,
  SessionBackend,
} from "./session-backend.js";
import { decodeData, isEmpty, sameBytes } from "./session-data.js";
import { formatDump } from "./session-dump.js";
import { randomHex } from "./session-secrets.js";
import type { SessionStore, SessionStoreContext, SessionStoreEvents } from "./session-store.js";
import { negotiateTimeout, sessionTimeouts } from "./session-timeouts.js";
import { SESSION_PASSWORD_BYTES } from "./session-tracker.js";
import { SharedRequests } from "./shared-requests.js";

export interface SharedSessionStoreOptions {
  /** This server's name in the backend and in logs. Default: random. */
  serverId?: string;
  /**
   * Time that every server reads alike: deadlines in the backend are compared across
   * processes. Default: the server's clock.
   */
  clock?: Clock;
  /** Sessions claimed per backend call when many expire at once. Default 1000. */
  claimBatch?: number;
}

/** What `open` makes: 96 random bits as 24 hex digits. */
const SESSION_ID = /^[0-9a-f]{24}$/;

/**
 * A session store whose sessions live in a {@link SessionBackend} that several servers share:
 * any server resumes any live session. Touches are batched into one write per tick; expiry is
 * claimed in the backend, so each session ends once among every server; pushes and answers
 * wait in the backend until the client acknowledges them; a request runs on one server once.
 */
export class SharedSessionStore extends EventEmitter<SessionStoreEvents> implements SessionStore {
  readonly tickTime: number;
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
  readonly serverId: string;
  /**
   * This run of the server as the backend knows it: `serverId` and a random part, so a server
   * restarted under the same id is not taken for the one that died (its requests are lost).
   */
  readonly instanceId: string;
  /** Resolves once this server hears from the backend about the sessions it carries. */
  readonly ready: Promise<void>;
  readonly #backend: SessionBackend;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #bounds: SessionBounds;
  readonly #claimBatch: number;
  readonly #carried = new Map<string, CarriedSession>();
  /** Messages for sessions being resumed here, applied once their state has loaded. */
  readonly #resuming = new Map<string, BackendMessage[]>();
  readonly #touched = new Set<CarriedSession>();
  readonly #acked = new Set<CarriedSession>();
  /**
   * Sessions the last flush found with neither a deadline nor a record: lost by the backend
   * (a restart without persistence, a flush), unless an "ended" message for them is still on
   * its way. Found so twice in a row, they end here.
   */
  #vanishing = new Set<CarriedSession>();
  /** Sessions whose pushes are being re-read after a gap. */
  readonly #refilling = new Set<CarriedSession>();
  readonly #requests: SharedRequests;
  /** Sessions this server ended (their listeners ran) whose release has not succeeded yet. */
  readonly #unreleased = new Map<string, ClaimedSession>();
  readonly #releasing = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #timer: TimerHandle | undefined;
  #ticking: Promise<void> | undefined;
  /** No session is claimed before this time (set after a stall). */
  #claimsFrom = Number.NEGATIVE_INFINITY;
  /** When the backend's current run of failed ticks began. */
  #outageSince: number | undefined;
  #closed = false;

  constructor(
    context: SessionStoreContext,
    backend: SessionBackend,
    options: SharedSessionStoreOptions = {},
  ) {
    super();
    const { tickTime, minSessionTimeout, maxSessionTimeout } = sessionTimeouts(context);
    this.tickTime = tickTime;
    this.minSessionTimeout = minSessionTimeout;
    this.maxSessionTimeout = maxSessionTimeout;
    this.#backend = backend;
    this.#clock = options.clock ?? context.clock;
    this.#logger = context.logger;
    this.#bounds = context.bounds;
    this.#claimBatch = options.claimBatch ?? 1000;
    this.serverId = options.serverId ?? randomHex(8);
    this.instanceId = `${this.serverId}/${randomHex(4)}`;
    this.#requests = new SharedRequests({
      backend,
      serverId: this.instanceId,
      clock: this.#clock,
      logger: this.#logger,
      maxResponses: this.#bounds.maxResponses,
      track: (operation) => this.#track(operation),
      carried: (id) => this.#carried.get(id),
      gone: (carried) => {
        if (!carried.closing) this.#letGo(carried, "expired");
      },
      overflowed: (session) => this.end(session, "buffer-overflow"),
    });
    this.ready = backend.subscribe(this.instanceId, {
      message: (message) => this.#onMessage(message),
      resync: () => {
        for (const carried of this.#carried.values()) void this.#resync(carried);
      },
    });
    this.ready.catch((error: unknown) => this.#logger.warn({ err: error }, "could not subscribe"));
    this.#arm();
  }

  get size(): number {
    return this.#carried.size;
  }

  async open(requestedTimeout: number, principal: unknown): Promise<ServerSession> {
    // Messages about a session are published to its carrier's subscription: none is carried
    // before that exists, or what was published meanwhile would never arrive.
    await this.ready;
    const timeout = negotiateTimeout(requestedTimeout, this);
    const now = this.#clock.now();
    const deadline = this.#bucket(now + timeout);
    for (;;) {
      const id = randomHex(12);
      const password = crypto.getRandomValues(new Uint8Array(SESSION_PASSWORD_BYTES));
      const record = { id, password, timeout, principal, deadline };
      if (!(await this.#track(this.#backend.create(record, this.instanceId)))) continue; // 96 bits collided
      const carried = this.#carry(id, timeout, password, principal);
      carried.lastTouch = now;
      carried.flushedDeadline = deadline;
      return carried.session;
    }
  }

  async resume(id: string, password: Uint8Array): Promise<ServerSession | undefined> {
    // Ids this store never makes (any string may arrive in a Hello) need no round trip.
    if (!SESSION_ID.test(id) || password.byteLength !== SESSION_PASSWORD_BYTES) return undefined;
    await this.ready; // as in open()
    const early: BackendMessage[] = [];
    this.#resuming.set(id, early);
    try {
      const resumed = await this.#track(
        this.#backend.resume(id, password, this.instanceId, this.#clock.now(), this.tickTime),
      );
      if (resumed === undefined) return undefined;
      let carried = this.#carried.get(id);
      if (carried === undefined || carried.session.ended) {
        carried = this.#carry(id, resumed.timeout, password, resumed.principal);
        // CarriedSession here already, its data is this process's, the latest; else the backend's.
        if (resumed.data !== undefined) {
          Object.assign(carried.session.data, decodeData(resumed.data, this.#logger));
          carried.writtenData = resumed.data;
        }
      }
      this.#restore(carried, resumed);
      for (const message of early) this.#apply(carried, message);
      if (carried.letGo) {
        // Overtaken: ended meanwhile, or resumed on another server after this resume ran.
        if (carried.session.ended) return undefined;
        throw new SessionMovedError(`session ${id} was resumed on another server meanwhile`);
      }
      return carried.session;
    } finally {
      if (this.#resuming.get(id) === early) this.#resuming.delete(id);
    }
  }

  touch(session: ServerSession): boolean {
    const carried = session.host;
    if (!(carried instanceof CarriedSession) || carried.store !== this.#host) return false;
    if (carried.closing || carried.letGo || session.ended) return false;
    carried.lastTouch = this.#clock.now();
    this.#touched.add(carried);
    return true;
  }

  end(session: ServerSession, reason: ServerSessionEndReason): void {
    const carried = this.#carried.get(session.id);
    if (session.ended || carried?.closing === true) return;
    if (carried !== undefined) carried.closing = true;
    this.#claimOne(session.id, reason).catch((error: unknown) => {
      if (carried !== undefined) carried.closing = false;
      this.#logger.error({ err: error, session: session.id }, "could not end a session in the backend");
    });
  }

  async push(id: string, topic: string, body: unknown): Promise<void> {
    const seq = await this.#track(this.#backend.appendPush(id, topic, body, this.#bounds.maxReplay));
    if (seq === "gone") throw new SessionExpiredError(`session ${id} is not live`);
    if (seq === "full") {
      const carried = this.#carried.get(id);
      if (carried !== undefined) this.end(carried.session, "buffer-overflow");
      else await this.#claimOne(id, "buffer-overflow");
      throw new SessionExpiredError(
        `session ${id} ended: more than ${this.#bounds.maxReplay} unacknowledged pushes`,
      );
    }
  }

  get(id: string): ServerSession | undefined {
    return this.#carried.get(id)?.session;
  }

  *sessions(): IterableIterator<ServerSession> {
    for (const carried of this.#carried.values()) yield carried.session;
  }

  /** The sessions this server carries, by the deadline bucket last written to the backend. */
  dump(): string {
    const buckets = new Map<number, ServerSession[]>();
    for (const carried of this.#carried.values()) {
      const list = buckets.get(carried.flushedDeadline) ?? [];
      list.push(carried.session);
      buckets.set(carried.flushedDeadline, list);
    }
    return formatDump(
      `on ${this.serverId}`,
      this.#clock.now(),
      buckets,
      (s) => `${s.id} timeout=${s.timeout}`,
    );
  }

  /**
   * Writes the last touches, stops expiry and leaves; sessions carried here stay in the
   * backend for their clients to resume elsewhere.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    await this.#flush().catch((error: unknown) => this.#logger.warn({ err: error }, "last flush failed"));
    // Operations finishing may start others (a claim is followed by a release): drain them all.
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    // This server carries none of them any more: they wait in the backend for their clients.
    for (const id of [...this.#carried.keys()]) this.#forget(id);
    await this.#backend.close(this.instanceId);
  }

  /** What every session object of this store calls back into. */
  readonly #host: SessionHost = {
    keepsEveryAnswer: true,
    end: (session, reason) => this.end(session, reason),
    push: (session, message) => {
      if (this.#carried.get(session.id)?.closing === true)
        throw new SessionExpiredError(`session ${session.id} has ended`);
      this.push(session.id, message.topic, message.body).catch((error: unknown) =>
        this.#logger.debug({ err: error, session: session.id }, "push refused"),
      );
    },
    // An idempotent request runs as on one server: unrecorded, so nothing here waits on it.
    admit: (session, request) => request.idempotent || this.#requests.admit(session, request.seq),
    answered: (session, response, frame) =>
      this.#requests.complete(session, response, this.instanceId, frame),
    acknowledged: (session, pushAck, responseAck) => {
      const carried = this.#carried.get(session.id);
      if (carried === undefined || carried.session !== session) return;
      if (pushAck <= carried.pushAck && responseAck <= carried.responseAck) return;
      carried.pushAck = Math.max(carried.pushAck, pushAck);
      carried.responseAck = Math.max(carried.responseAck, responseAck);
      // Usually written with the tick's batch; but a busy session whose client has confirmed a
      // quarter of a bound's worth since is trimmed in the backend now, or its kept pushes or
      // answers would reach the bound there while the client holds them all.
      const lag = Math.max(
        carried.pushAck - carried.writtenPushAck,
        carried.responseAck - carried.writtenResponseAck,
      );
      if (lag >= Math.min(this.#bounds.maxReplay, this.#bounds.maxResponses) / 4) {
        this.#acked.delete(carried);
        void this.#writeAck(carried).catch(() => this.#acked.add(carried));
      } else {
        this.#acked.add(carried);
      }
    },
  };

  #carry(id: string, timeout: number, password: Uint8Array, principal: unknown): CarriedSession {
    const tracked = { id, timeout, password, state: "live" as const };
    const carried = new CarriedSession(this.#host);
    carried.session = new ServerSession(tracked, principal, this.#bounds, carried);
    this.#carried.set(id, carried);
    return carried;
  }

  #restore(carried: CarriedSession, resumed: ResumedSession): void {
    carried.session.restore(resumed.pushes, resumed.responses, resumed.responseAck, resumed.lastPushSeq);
    carried.epoch = resumed.epoch;
    carried.flushedDeadline = Math.max(carried.flushedDeadline, resumed.deadline);
  }

  /** Expiry runs once a tick, just after each bucket boundary, like the in-process tracker. */
  #arm(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    // After an on-time step, so frames that arrived during a stalled loop are read first.
    const tick = () => {
      this.#timer = undefined;
      this.#ticking = this.#tick().finally(() => {
        this.#ticking = undefined;
        this.#arm();
      });
    };
    runWhenOnTime(this.#clock, this.#bucket(now) - now, tick, {
      slackMs: this.tickTime,
      recoveryMs: 0,
      onLate: (late) => this.#stalled(late),
      track: (timer) => {
        this.#timer = timer;
      },
    });
  }

  async #tick(): Promise<void> {
    try {
      const snapshot = this.#clock.now();
      await this.#flush();
      this.#outageSince = undefined;
      const took = this.#clock.now() - snapshot;
      if (took > this.tickTime) this.#stalled(took);
      // Touches up to the snapshot are in the backend; those of other servers up to a tick before it.
      if (this.#clock.now() >= this.#claimsFrom) await this.#claimDue(snapshot - this.tickTime);
      for (const claimed of this.#unreleased.values()) this.#release(claimed);
      await this.#requests.settle(this.#carried.values());
    } catch (error) {
      this.#unreachable();
      this.#logger.warn({ err: error }, "expiry tick failed; retrying next tick");
    }
  }

  /**
   * The backend refused or failed this tick's writes: an outage, during which clients could not
   * resume (they were answered 4007). Claims wait until as long after it as it lasted (at most
   * a maximum session timeout), plus the two ticks of a stall, so the clients that backed off
   * meanwhile get back to their sessions first (ZooKeeper renews every session after a leader
   * election for the same reason).
   */
  #unreachable(): void {
    const now = this.#clock.now();
    this.#outageSince ??= now;
    const grace = Math.min(now - this.#outageSince, this.maxSessionTimeout);
    this.#stalled(0);
    this.#claimsFrom = Math.max(this.#claimsFrom, now + grace + 2 * this.tickTime);
  }

  /**
   * This process or the backend stalled (a late timer, a slow or failed write): touches of every
   * server may still be on their way. No session is judged until two ticks later, when every
   * server has had a full tick to write its batch again.
   */
  #stalled(lateMs: number): void {
    this.#claimsFrom = this.#clock.now() + 2 * this.tickTime;
    if (lateMs > 0) this.emit("stall", lateMs);
  }

  /**
   * One write per tick: the deadline buckets of sessions touched since the last one, the
   * clients' acknowledgements, and this server's liveness.
   */
  async #flush(): Promise<void> {
    const touched = [...this.#touched];
    const acked = [...this.#acked];
    this.#touched.clear();
    this.#acked.clear();
    const deadlines: [string, number][] = [];
    const written: [CarriedSession, number][] = [];
    for (const carried of touched) {
      if (carried.closing || carried.session.ended) continue;
      const deadline = this.#bucket(carried.lastTouch + carried.session.timeout);
      if (deadline <= carried.flushedDeadline) continue;
      deadlines.push([carried.session.id, deadline]);
      written.push([carried, deadline]);
    }
    const moved = this.#backend.flushDeadlines(
      deadlines,
      this.instanceId,
      this.#clock.now() + 3 * this.tickTime,
    );
    const writes: Promise<unknown>[] = [moved, ...acked.map((carried) => this.#writeAck(carried))];
    for (const carried of touched) {
      const data = carried.closing || carried.session.ended ? undefined : this.#dataToWrite(carried);
      if (data !== undefined) writes.push(this.#writeData(carried, data));
    }
    try {
      await this.#track(Promise.all(writes));
      // What was written, not what the session reads now: touches during the write go next time.
      for (const [carried, deadline] of written) {
        carried.flushedDeadline = Math.max(carried.flushedDeadline, deadline);
      }
      const missing = written.length - (await moved);
      // Looked into beside the tick, not in its way: claims and answers do not wait for it.
      if (missing > 0 || this.#vanishing.size > 0) {
        this.#track(this.#endVanished(missing > 0 ? touched : [])).catch((error: unknown) =>
          this.#logger.warn({ err: error }, "could not check for sessions the backend lost"),
        );
      }
    } catch (error) {
      // Nothing is lost: the same sessions go out with the next flush.
      for (const carried of touched) this.#touched.add(carried);
      for (const carried of acked) this.#acked.add(carried);
      throw error;
    }
  }

  /**
   * Ends, with expire listeners, the carried sessions the backend no longer has at all: nobody
   * else can claim them, so without this they would live on here, deaf, and their listeners
   * would never run. One tick of grace first, for an "ended" message from whoever claimed it.
   */
  async #endVanished(touched: readonly CarriedSession[]): Promise<void> {
    const candidates = [...new Set([...touched, ...this.#vanishing])].filter(
      (carried) => !carried.letGo && !carried.closing,
    );
    this.#vanishing = new Set();
    if (candidates.length === 0) return;
    const gone = await this.#track(this.#backend.vanished(candidates.map((carried) => carried.session.id)));
    candidates.forEach((carried, i) => {
      if (!gone[i] || carried.closing || carried.letGo) {
        carried.suspectedLost = false;
        return;
      }
      if (!carried.suspectedLost) {
        carried.suspectedLost = true;
        this.#vanishing.add(carried);
        return;
      }
      const { id, timeout, principal } = carried.session;
      this.#logger.warn({ session: id }, "the backend lost a live session; it ends here");
      this.#ended({ id, reason: "expired", owner: this.instanceId, timeout, principal });
    });
  }

  /**
   * The session's `data`, encoded, if it changed since it was last written (checked for the
   * sessions whose frames arrived this tick: a change made between frames goes with the next).
   * Data plain MessagePack cannot carry is not written (and logged); data over the bound ends
   * the session, as the replay bound does.
   */
  #dataToWrite(carried: CarriedSession): Uint8Array | undefined {
    const data = carried.session.dataIfMade;
    if (data === undefined || (carried.writtenData === undefined && isEmpty(data))) return undefined;
    let bytes: Uint8Array;
    try {
      bytes = copyBytes(encodeFrame(data)); // not a view that would pin the encoder's buffer
    } catch (error) {
      this.#logger.error(
        { err: error, session: carried.session.id },
        "session.data cannot be encoded; not written",
      );
      return undefined;
    }
    if (carried.writtenData !== undefined && sameBytes(bytes, carried.writtenData)) return undefined;
    if (bytes.byteLength > this.#bounds.maxDataBytes) {
      this.#logger.error(
        { session: carried.session.id, bytes: bytes.byteLength, limit: this.#bounds.maxDataBytes },
        "session.data outgrew maxSessionDataBytes; the session ends",
      );
      this.end(carried.session, "buffer-overflow");
      return undefined;
    }
    return bytes;
  }

  async #writeData(carried: CarriedSession, data: Uint8Array): Promise<void> {
    await this.#backend.writeData(carried.session.id, data);
    carried.writtenData = data;
  }

  /** Drops from the backend what the client confirmed having. */
  async #writeAck(carried: CarriedSession): Promise<void> {
    const { pushAck, responseAck } = carried;
    await this.#track(this.#backend.acknowledge(carried.session.id, pushAck, responseAck));
    carried.writtenPushAck = Math.max(carried.writtenPushAck, pushAck);
    carried.writtenResponseAck = Math.max(carried.writtenResponseAck, responseAck);
  }

  /**
   * Claims sessions whose bucket passed at least one tick ago: that tick is the batching
   * allowance, since a touch may wait up to a tick in another server before reaching the backend.
   */
  async #claimDue(upTo: number): Promise<void> {
    for (;;) {
      const claimed = await this.#track(this.#backend.claimDue(upTo, this.#claimBatch, this.#lease()));
      for (const session of claimed) this.#ended(session);
      if (claimed.length < this.#claimBatch) return;
    }
  }

  /**
   * A claim this server holds lasts three ticks (as its liveness does): one it has not
   * released by then is taken over if this server has died, or taken back if it lost the reply.
   */
  #lease(): ClaimLease {
    const now = this.#clock.now();
    return { claimer: this.instanceId, now, until: now + 3 * this.tickTime };
  }

  /**
   * This server claimed the session: end it here, run expire listeners once, release it. A
   * claim it had already acted on (its release failed, and the lease ran out) is released again.
   */
  #ended(claimed: ClaimedSession): void {
    const { id, reason, timeout, principal } = claimed;
    if (this.#unreleased.has(id)) {
      this.#release(claimed);
      return;
    }
    let session = this.#carried.get(id)?.session;
    if (session === undefined) {
      const password = new Uint8Array(SESSION_PASSWORD_BYTES); // never sent: nobody can resume it
      session = new ServerSession(
        { id, timeout, password, state: "live" },
        principal,
        this.#bounds,
        this.#host,
      );
      if (claimed.data !== undefined) Object.assign(session.data, decodeData(claimed.data, this.#logger));
    }
    this.#forget(id);
    session.end(reason);
    try {
      this.emit("expire", session, reason);
    } catch (error) {
      if (!this.emit("error", error))
        this.#logger.error({ err: error, session: id }, "an expire listener threw");
    }
    this.#release(claimed);
  }

  /** Releases a claim this server acted on; one that fails is tried again each tick. */
  #release(claimed: ClaimedSession): void {
    if (this.#releasing.has(claimed.id)) return;
    this.#unreleased.set(claimed.id, claimed);
    this.#releasing.add(claimed.id);
    const done = () => this.#releasing.delete(claimed.id);
    this.#track(this.#backend.release(claimed, claimed.reason, this.instanceId))
      .finally(done)
      .then(
        () => this.#unreleased.delete(claimed.id),
        (error: unknown) =>
          this.#logger.warn({ err: error, session: claimed.id }, "could not release an ended session"),
      );
  }

  /**
   * Ends a session now, wherever it is carried, if this server claims it first; otherwise the
   * server that did claim it ends it (and tells its carrier).
   */
  async #claimOne(id: string, reason: ServerSessionEndReason): Promise<void> {
    const claimed = await this.#track(this.#backend.claim(id, reason, this.#lease()));
    if (claimed !== undefined) this.#ended(claimed);
  }

  #onMessage(message: BackendMessage): void {
    const early = this.#resuming.get(message.id);
    if (early !== undefined) {
      early.push(message);
      return;
    }
    const carried = this.#carried.get(message.id);
    if (carried !== undefined) this.#apply(carried, message);
  }

  /** A message from another server (or from the backend) about a session carried here. */
  #apply(carried: CarriedSession, message: BackendMessage): void {
    const session = carried.session;
    switch (message.kind) {
      case "push": {
        const seq = message.push.seq;
        if (seq === session.deliveredPushSeq + 1) session.deliverPush(message.push);
        else if (seq > session.deliveredPushSeq) void this.#refill(carried);
        return;
      }
      case "response":
        this.#requests.deliver(session, carried, message.response);
        return;
      case "moved":
        // Resumed on another server after this one's own resume (an older move is stale).
        if (message.epoch > carried.epoch) this.#letGo(carried, "moved");
        return;
      case "ended":
        this.#letGo(carried, message.reason);
        return;
    }
  }

  /**
   * This server stops carrying the session: it moved (its connection gets 4006; requests
   * running here still answer, through the backend), or it ended elsewhere (or vanished), and
   * its end runs here without expire listeners (those ran where it was claimed).
   */
  #letGo(carried: CarriedSession, why: "moved" | ServerSessionEndReason): void {
    if (!carried.letGo) this.#forget(carried.session.id);
    if (why === "moved")
      carried.session.link?.end(CloseCode.SessionMoved, "session resumed on another server");
    else carried.session.end(why);
  }

  /** Re-reads pushes after a gap (a missed message), in order. */
  async #refill(carried: CarriedSession): Promise<void> {
    if (this.#refilling.has(carried)) return;
    this.#refilling.add(carried);
    try {
      const snapshot = await this.#backend.read(carried.session.id, carried.session.deliveredPushSeq);
      for (const push of snapshot?.pushes ?? []) carried.session.deliverPush(push);
    } catch (error) {
      this.#logger.warn({ err: error, session: carried.session.id }, "could not re-read pushes");
    } finally {
      this.#refilling.delete(carried);
    }
  }

  /** After the subscription came back: pushes, answers and ends that may have been missed. */
  async #resync(carried: CarriedSession): Promise<void> {
    const session = carried.session;
    const snapshot = await this.#backend.read(session.id, session.deliveredPushSeq).catch(() => null);
    if (snapshot === null || carried.letGo) return;
    if (snapshot === undefined || !snapshot.live || snapshot.owner !== this.instanceId) {
      // Ended, or moved, while we were not listening.
      this.#letGo(carried, snapshot?.live === true ? "moved" : "expired");
      return;
    }
    for (const push of snapshot.pushes) session.deliverPush(push);
    for (const response of snapshot.responses) this.#requests.deliver(session, carried, response);
  }

  #forget(id: string): void {
    const carried = this.#carried.get(id);
    if (carried === undefined) return;
    carried.letGo = true;
    for (const waiting of carried.waiting.values()) waiting.decide(false);
    carried.waiting.clear();
    this.#carried.delete(id);
    this.#touched.delete(carried);
    this.#acked.delete(carried);
  }

  /** The end of the bucket `time` falls in (ZooKeeper's `roundToNextInterval`). */
  #bucket(time: number): number {
    return (Math.floor(time / this.tickTime) + 1) * this.tickTime;
  }

  /** Remembers an operation so `close()` waits for it before leaving. */
  #track<T>(operation: Promise<T>): Promise<T> {
    this.#inFlight.add(operation);
    const done = () => this.#inFlight.delete(operation);
    operation.then(done, done);
    return operation;
  }
}
