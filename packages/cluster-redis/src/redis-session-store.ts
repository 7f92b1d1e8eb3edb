import { randomBytes } from "node:crypto";
import {
  type Clock,
  CloseCode,
  encodeFrame,
  type Logger,
  MessageType,
  negotiateTimeout,
  type PushMessage,
  RequestErrorCode,
  type ResponseMessage,
  runWhenOnTime,
  SESSION_PASSWORD_BYTES,
  type ServerSession,
  type ServerSessionEndReason,
  type SessionBounds,
  SessionExpiredError,
  type SessionStore,
  type SessionStoreContext,
  type SessionStoreEvents,
  type SessionStoreFactory,
  sessionTimeouts,
  systemClock,
  type TimerHandle,
} from "@tether/core";
import DataLoader from "dataloader";
import { EventEmitter } from "eventemitter3";
import { Redis, type RedisOptions } from "ioredis";
import { unpackMultiple } from "msgpackr";
import { type Admission, ClusterSession, type ClusterSessionHost } from "./cluster-session.js";
import { admissionOf, hashPassword, packMessage, packr, streamSeq, unpackPrincipal } from "./encoding.js";
import { ClusterKeys } from "./keys.js";
import { defineScripts, runScript } from "./scripts.js";

export interface RedisSessionStoreOptions {
  /**
   * A Redis URL, ioredis options, or a client (which the store leaves open; give it
   * `enableAutoPipelining`, as the store does for those it makes, so a tick's writes leave in
   * one write). Default `redis://127.0.0.1:6379`.
   */
  redis?: string | RedisOptions | Redis;
  /** Keys and channels start with this; servers that share sessions share it. Default `"tether:"`. */
  prefix?: string;
  /**
   * Time that every server reads alike: deadlines in Redis are compared across processes.
   * Default: the server's clock if it was injected (tests), else wall-clock milliseconds.
   */
  clock?: Clock;
  /** This server's name in Redis and in logs. Default: random. */
  serverId?: string;
  /** Sessions claimed per Redis call when many expire at once. Default 1000. */
  claimBatch?: number;
}

/** Wall-clock milliseconds (comparable between processes), with the process's timers. */
export const wallClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: systemClock.setTimeout,
  clearTimeout: systemClock.clearTimeout,
};

/** What `open` makes: 96 random bits as 24 hex digits. */
const SESSION_ID = /^[0-9a-f]{24}$/;

/** How long keys of an ended session stay if the server ending it dies before deleting them. */
const LINGER_MS = 60_000;

/**
 * Sessions shared by every server on one Redis: a `SessionStore` for `createServer`'s
 * `sessionStore` option. Any server resumes any live session; each frame's touch is batched
 * into one write per tick; expiry is claimed by a Lua script so each session ends once in the
 * cluster; pushes and answers wait in Redis until the client acknowledges them.
 */
export class RedisSessionStore extends EventEmitter<SessionStoreEvents> implements SessionStore {
  readonly tickTime: number;
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
  readonly serverId: string;
  /** Resolves once this server listens for messages from the others. */
  readonly ready: Promise<void>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #bounds: SessionBounds;
  readonly #keys: ClusterKeys;
  readonly #claimBatch: number;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #ownsRedis: boolean;
  readonly #sessions = new Map<string, ClusterSession>();
  /** Messages for sessions being resumed here, applied once their state has loaded. */
  readonly #resuming = new Map<string, unknown[][]>();
  readonly #touched = new Set<ClusterSession>();
  readonly #acked = new Set<ClusterSession>();
  /**
   * Sessions this server carries that the last flush found neither in the deadline set nor
   * as a record: lost by Redis (a restart without persistence, a flush), unless an "ended"
   * message for them is still on its way. Found so twice in a row, they end here.
   */
  #vanishing = new Set<ClusterSession>();
  /** Sessions whose pushes are being re-read from Redis after a gap. */
  readonly #refilling = new Set<ClusterSession>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #timer: TimerHandle | undefined;
  #ticking: Promise<void> | undefined;
  /** No session is claimed before this time (set after a stall). */
  #claimsFrom = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(context: SessionStoreContext, options: RedisSessionStoreOptions = {}) {
    super();
    const { tickTime, minSessionTimeout, maxSessionTimeout } = sessionTimeouts(context);
    this.tickTime = tickTime;
    this.minSessionTimeout = minSessionTimeout;
    this.maxSessionTimeout = maxSessionTimeout;
    this.#clock = options.clock ?? (context.clock === systemClock ? wallClock : context.clock);
    this.#logger = context.logger;
    this.#bounds = context.bounds;
    this.#keys = new ClusterKeys(options.prefix ?? "tether:");
    this.#claimBatch = options.claimBatch ?? 1000;
    this.serverId = options.serverId ?? randomBytes(8).toString("hex");
    const redis = options.redis;
    this.#ownsRedis = !(redis instanceof Redis);
    this.#redis = redis instanceof Redis ? redis : connect(redis);
    defineScripts(this.#redis);
    this.#subscriber = this.#redis.duplicate({ enableAutoPipelining: false });
    this.#redis.on("error", (error) => this.#logger.warn({ err: error }, "redis connection error"));
    this.#subscriber.on("error", (error) => this.#logger.warn({ err: error }, "redis subscriber error"));
    this.#subscriber.on("messageBuffer", (_channel: Buffer, message: Buffer) => this.#onMessage(message));
    // Messages published while the subscriber was away are gone: after a reconnect, once the
    // subscription is back (so nothing falls between), re-read what carried sessions missed.
    let connections = 0;
    this.#subscriber.on("ready", () => {
      if (connections++ === 0) return;
      this.#subscriber.subscribe(this.#keys.channel(this.serverId)).then(
        () => {
          for (const session of this.#sessions.values()) void this.#resync(session);
        },
        (error: unknown) => this.#logger.warn({ err: error }, "could not subscribe again"),
      );
    });
    this.ready = this.#subscriber.subscribe(this.#keys.channel(this.serverId)).then(() => undefined);
    this.ready.catch(() => {}); // reported through the connection's error event
    this.#arm();
  }

  get size(): number {
    return this.#sessions.size;
  }

  async open(requestedTimeout: number, principal: unknown): Promise<ServerSession> {
    const timeout = negotiateTimeout(requestedTimeout, this);
    const now = this.#clock.now();
    const deadline = this.#bucket(now + timeout);
    for (;;) {
      const id = randomBytes(12).toString("hex");
      const password = new Uint8Array(randomBytes(SESSION_PASSWORD_BYTES));
      const [s] = this.#keys.session(id);
      const created = await this.#track(
        runScript(
          this.#redis,
          "tetherCreate",
          s,
          this.#keys.expiry,
          id,
          hashPassword(password),
          timeout,
          this.serverId,
          deadline,
          packr.pack(principal),
        ),
      );
      if (created !== 1) continue; // 96 random bits collided: draw again
      const session = this.#newSession(id, timeout, password, principal);
      session.lastTouch = now;
      session.flushedDeadline = deadline;
      this.#sessions.set(id, session);
      return session;
    }
  }

  async resume(id: string, password: Uint8Array): Promise<ServerSession | undefined> {
    // Ids this store never makes (any string may arrive in a Hello) need no round trip.
    if (!SESSION_ID.test(id) || password.byteLength !== SESSION_PASSWORD_BYTES) return undefined;
    const early: unknown[][] = [];
    this.#resuming.set(id, early);
    try {
      const [s, p, r] = this.#keys.session(id);
      const reply = (await this.#track(
        runScript(
          this.#redis,
          "tetherResume",
          s,
          p,
          r,
          this.#keys.expiry,
          id,
          hashPassword(password),
          this.serverId,
          this.#keys.channel(""),
          this.#clock.now(),
          this.tickTime,
        ),
      )) as [Buffer, Buffer, Buffer, Buffer[], Buffer[], number, Buffer, number] | null;
      if (reply === null) return undefined;
      const [timeoutRaw, responseAckRaw, principalRaw, pushList, responseList, epoch, pushSeqRaw, deadline] =
        reply;
      const timeout = Number(timeoutRaw.toString());
      let session = this.#sessions.get(id);
      if (session === undefined || session.ended) {
        session = this.#newSession(id, timeout, password, packr.unpack(principalRaw));
        this.#sessions.set(id, session);
      }
      const pushes: PushMessage[] = [];
      for (let i = 0; i < pushList.length; i += 2) {
        const [topic, body] = packr.unpack(pushList[i + 1] as Buffer) as [string, unknown];
        pushes.push({ type: MessageType.Push, seq: streamSeq(pushList[i] as Buffer), topic, body });
      }
      const responses: ResponseMessage[] = [];
      for (let i = 1; i < responseList.length; i += 2) {
        responses.push(packr.unpack(responseList[i] as Buffer) as ResponseMessage);
      }
      session.restore(pushes, responses, Number(responseAckRaw.toString()), Number(pushSeqRaw.toString()));
      session.epoch = epoch;
      session.flushedDeadline = Math.max(session.flushedDeadline, deadline);
      for (const message of early) this.#apply(session, message);
      return session;
    } finally {
      if (this.#resuming.get(id) === early) this.#resuming.delete(id);
    }
  }

  touch(session: ServerSession): boolean {
    const cluster = session as ClusterSession;
    if (cluster.closing || cluster.ended) return false;
    cluster.lastTouch = this.#clock.now();
    this.#touched.add(cluster);
    return true;
  }

  end(session: ServerSession, reason: ServerSessionEndReason): void {
    const cluster = session as ClusterSession;
    if (cluster.closing || cluster.ended) return;
    cluster.closing = true;
    this.#claimOne(session.id, reason).catch((error: unknown) => {
      cluster.closing = false;
      this.#logger.error({ err: error, session: session.id }, "could not end a session in redis");
    });
  }

  async push(id: string, topic: string, body: unknown): Promise<void> {
    const [s, p] = this.#keys.session(id);
    const seq = (await this.#track(
      runScript(
        this.#redis,
        "tetherPush",
        s,
        p,
        id,
        // The wire codec's plain check: a body it cannot carry throws here, before Redis keeps it.
        asBuffer(encodeFrame([topic, body])),
        this.#bounds.maxReplay,
        this.#keys.channel(""),
      ),
    )) as number;
    if (seq === -1) throw new SessionExpiredError(`session ${id} is not live`);
    if (seq === -2) {
      const local = this.#sessions.get(id);
      if (local !== undefined) this.end(local, "buffer-overflow");
      else await this.#claimOne(id, "buffer-overflow");
      throw new SessionExpiredError(
        `session ${id} ended: more than ${this.#bounds.maxReplay} unacknowledged pushes`,
      );
    }
  }

  get(id: string): ServerSession | undefined {
    return this.#sessions.get(id);
  }

  sessions(): IterableIterator<ServerSession> {
    return this.#sessions.values();
  }

  /** The sessions this server carries, by the deadline bucket last written to Redis. */
  dump(): string {
    const buckets = new Map<number, ClusterSession[]>();
    for (const session of this.#sessions.values()) {
      const list = buckets.get(session.flushedDeadline) ?? [];
      list.push(session);
      buckets.set(session.flushedDeadline, list);
    }
    return formatDump(
      `on ${this.serverId}`,
      this.#clock.now(),
      buckets,
      (s) => `${s.id} timeout=${s.timeout}`,
    );
  }

  /** Every session of the cluster by deadline bucket (the first 10,000), marking those carried here. */
  async clusterDump(): Promise<string> {
    const flat = await this.#redis.zrange(this.#keys.expiry, 0, 9_999, "WITHSCORES");
    const buckets = new Map<number, string[]>();
    for (let i = 0; i < flat.length; i += 2) {
      const time = Number(flat[i + 1]);
      const list = buckets.get(time) ?? [];
      list.push(flat[i] as string);
      buckets.set(time, list);
    }
    return formatDump("in the cluster", this.#clock.now(), buckets, (id) =>
      this.#sessions.has(id) ? `${id} (here)` : id,
    );
  }

  /**
   * Writes the last touches, stops expiry and leaves the cluster; sessions carried here stay
   * in Redis for their clients to resume elsewhere.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    await this.#flush().catch((error: unknown) => this.#logger.warn({ err: error }, "last flush failed"));
    // Operations finishing may start others (a claim is followed by a delete): drain them all.
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    await Promise.allSettled([this.#redis.del(this.#keys.liveness(this.serverId))]);
    this.#subscriber.disconnect();
    if (this.#ownsRedis) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** What every session object of this store calls back into. */
  readonly #host: ClusterSessionHost = {
    push: (session, topic, body) => {
      this.push(session.id, topic, body).catch((error: unknown) =>
        this.#logger.debug({ err: error, session: session.id }, "push refused"),
      );
    },
    admit: (session, seq) => this.#admit(session, seq),
    recordResponse: (session, response) => {
      void this.#complete(session.id, response, this.serverId).then((kept) => {
        if (kept === -2) this.end(session, "buffer-overflow");
      });
    },
    lost: (session) => this.#letGo(session, "expired"),
    noteAck: (session) => {
      // Usually written with the tick's batch; but a busy session whose client has confirmed a
      // quarter of a bound's worth since is trimmed in Redis now, or its kept pushes or answers
      // would reach the bound there while the client holds them all.
      const lag = Math.max(
        session.pushAck - session.writtenPushAck,
        session.responseAck - session.writtenResponseAck,
      );
      if (lag >= Math.min(this.#bounds.maxReplay, this.#bounds.maxResponses) / 4) {
        this.#acked.delete(session);
        void this.#writeAck(session).catch(() => this.#acked.add(session));
      } else {
        this.#acked.add(session);
      }
    },
  };

  /** Requests arriving in one tick are admitted by one script call. */
  readonly #admissions = new DataLoader<{ id: string; seq: number }, Admission>(
    async (requests) => {
      const args = requests.flatMap(({ id, seq }) => [id, seq]);
      const replies = (await this.#track(
        runScript(this.#redis, "tetherAdmit", this.#keys.prefix, this.serverId, ...args),
      )) as [number, Buffer?][];
      return replies.map(admissionOf);
    },
    { cache: false, maxBatchSize: 1000 },
  );

  /** Answers finished in one tick are kept by one script call: 1 kept, 0 not, -2 over the bound. */
  readonly #answers = new DataLoader<{ id: string; response: ResponseMessage; runner: string }, number>(
    async (answers) => {
      const args = answers.flatMap(({ id, response, runner }) => [
        id,
        response.seq,
        packr.pack(response),
        runner,
      ]);
      const max = this.#bounds.maxResponses;
      return (await this.#track(
        runScript(this.#redis, "tetherComplete", this.#keys.prefix, max, this.#keys.channel(""), ...args),
      )) as number[];
    },
    { cache: false, maxBatchSize: 1000 },
  );

  #admit(session: ClusterSession, seq: number): Promise<Admission> {
    return this.#admissions.load({ id: session.id, seq });
  }

  #complete(id: string, response: ResponseMessage, runner: string): Promise<number> {
    return this.#answers.load({ id, response, runner }).catch((error: unknown) => {
      this.#logger.error({ err: error, session: id, seq: response.seq }, "could not keep an answer in redis");
      return 0;
    });
  }

  #newSession(id: string, timeout: number, password: Uint8Array, principal: unknown): ClusterSession {
    const tracked = { id, timeout, password, state: "live" as const };
    return new ClusterSession(
      tracked,
      principal,
      this.#bounds,
      (s, reason) => this.end(s, reason),
      this.#host,
    );
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
      const took = this.#clock.now() - snapshot;
      if (took > this.tickTime) this.#stalled(took);
      // Touches up to the snapshot are in Redis; those of other servers up to a tick before it.
      if (this.#clock.now() >= this.#claimsFrom) await this.#claimDue(snapshot - this.tickTime);
      await this.#settleLostRequests();
    } catch (error) {
      this.#stalled(0);
      this.#logger.warn({ err: error }, "expiry tick failed; retrying next tick");
    }
  }

  /**
   * This process or Redis stalled (a late timer, a slow or failed write): touches of every
   * server may still be on their way. No session is judged until two ticks later, when every
   * server has had a full tick to write its batch again.
   */
  #stalled(lateMs: number): void {
    this.#claimsFrom = this.#clock.now() + 2 * this.tickTime;
    if (lateMs > 0) this.emit("stall", lateMs);
  }

  /**
   * One pipelined write per tick: the deadline buckets of sessions touched since the last one
   * (ZADD XX GT: never revives a claimed session, never moves a deadline back), the clients'
   * acknowledgements, and this server's liveness key.
   */
  async #flush(): Promise<void> {
    const touched = [...this.#touched];
    const acked = [...this.#acked];
    this.#touched.clear();
    this.#acked.clear();
    const scores: (string | number)[] = [];
    const written: [ClusterSession, number][] = [];
    for (const session of touched) {
      if (session.closing || session.ended) continue;
      const deadline = this.#bucket(session.lastTouch + session.timeout);
      if (deadline <= session.flushedDeadline) continue;
      scores.push(deadline, session.id);
      written.push([session, deadline]);
    }
    const writes: Promise<unknown>[] = [
      this.#redis.set(this.#keys.liveness(this.serverId), "1", "PX", 3 * this.tickTime),
    ];
    // CH: how many deadlines moved. Each written one should have; one that did not is missing.
    const moved =
      scores.length > 0
        ? this.#redis.call("ZADD", this.#keys.expiry, "XX", "GT", "CH", ...scores)
        : Promise.resolve(0);
    writes.push(moved);
    for (const session of acked) writes.push(this.#writeAck(session));
    try {
      await this.#track(Promise.all(writes));
      // What was written, not what the session reads now: touches during the write go next time.
      for (const [session, deadline] of written) {
        session.flushedDeadline = Math.max(session.flushedDeadline, deadline);
      }
      const missing = written.length - ((await moved) as number);
      // Looked into beside the tick, not in its way: claims and answers do not wait for it.
      if (missing > 0 || this.#vanishing.size > 0) {
        this.#track(this.#endVanished(missing > 0 ? touched : [])).catch((error: unknown) =>
          this.#logger.warn({ err: error }, "could not check for sessions redis lost"),
        );
      }
    } catch (error) {
      // Nothing is lost: the same sessions go out with the next flush.
      for (const session of touched) this.#touched.add(session);
      for (const session of acked) this.#acked.add(session);
      throw error;
    }
  }

  /**
   * Ends, with expire listeners, the carried sessions Redis no longer has at all: nobody else
   * can claim them, so without this they would live on here, deaf, and their listeners would
   * never run. One tick of grace first, for an "ended" message from the server that claimed it.
   */
  async #endVanished(touched: readonly ClusterSession[]): Promise<void> {
    const carried = [...new Set([...touched, ...this.#vanishing])].filter(
      (session) => !session.closing && !session.ended && this.#sessions.get(session.id) === session,
    );
    this.#vanishing = new Set();
    if (carried.length === 0) return;
    const ids = carried.map((session) => session.id);
    const scores = (await this.#track(this.#redis.call("ZMSCORE", this.#keys.expiry, ...ids))) as unknown[];
    const missing = carried.filter((session, i) => {
      if (scores[i] !== null) session.suspectedLost = false;
      return scores[i] === null;
    });
    if (missing.length === 0) return;
    const records = await this.#track(
      Promise.all(missing.map((session) => this.#redis.exists(this.#keys.session(session.id)[0]))),
    );
    missing.forEach((session, i) => {
      if (records[i] !== 0 || session.closing || session.ended) return; // being ended elsewhere
      if (!session.suspectedLost) {
        session.suspectedLost = true;
        this.#vanishing.add(session);
        return;
      }
      this.#logger.warn({ session: session.id }, "redis lost a live session; it ends here");
      this.#ended(session.id, this.serverId, session.timeout, Buffer.alloc(0), "expired");
    });
  }

  /** Drops from Redis what the client confirmed having. */
  async #writeAck(session: ClusterSession): Promise<void> {
    const [s, p, r, q] = this.#keys.session(session.id);
    const { pushAck, responseAck } = session;
    await this.#track(runScript(this.#redis, "tetherAck", s, p, r, q, pushAck, responseAck));
    session.writtenPushAck = Math.max(session.writtenPushAck, pushAck);
    session.writtenResponseAck = Math.max(session.writtenResponseAck, responseAck);
  }

  /**
   * Claims sessions whose bucket passed at least one tick ago: that tick is the batching
   * allowance, since a touch may wait up to a tick in another server before reaching Redis.
   */
  async #claimDue(upTo: number): Promise<void> {
    for (;;) {
      const claimed = (await this.#track(
        runScript(
          this.#redis,
          "tetherClaim",
          this.#keys.expiry,
          upTo,
          this.#claimBatch,
          this.#keys.prefix,
          LINGER_MS,
        ),
      )) as [Buffer, Buffer, Buffer, Buffer][];
      for (const [id, owner, timeout, principal] of claimed) {
        this.#ended(id.toString(), owner.toString(), Number(timeout.toString()), principal, "expired");
      }
      if (claimed.length < this.#claimBatch) return;
    }
  }

  /** Answers requests whose runner died with `server-lost` (at most once: never run again). */
  async #settleLostRequests(): Promise<void> {
    const checks: Promise<void>[] = [];
    for (const session of this.#sessions.values()) {
      for (const [seq, runner] of session.waiting) {
        checks.push(
          this.#redis.exists(this.#keys.liveness(runner)).then(async (alive) => {
            if (alive === 1) return;
            const lost: ResponseMessage = {
              type: MessageType.ErrorResponse,
              seq,
              code: RequestErrorCode.ServerLost,
              message: `the server running this request (${runner}) died before answering`,
            };
            if ((await this.#complete(session.id, lost, runner)) === 1) session.deliverResponse(lost);
          }),
        );
      }
    }
    await Promise.all(checks);
  }

  /** This server claimed the session: end it here, run expire listeners once, tell its carrier, delete it. */
  #ended(
    id: string,
    owner: string,
    timeout: number,
    principal: Buffer,
    reason: ServerSessionEndReason,
  ): void {
    let session = this.#sessions.get(id);
    if (session === undefined) {
      const password = new Uint8Array(SESSION_PASSWORD_BYTES); // never sent: nobody can resume it
      session = this.#newSession(id, timeout, password, unpackPrincipal(principal));
    }
    this.#sessions.delete(id);
    this.#forget(session);
    session.end(reason);
    try {
      this.emit("expire", session, reason);
    } catch (error) {
      if (!this.emit("error", error))
        this.#logger.error({ err: error, session: id }, "an expire listener threw");
    }
    if (owner !== this.serverId)
      void this.#track(this.#redis.publish(this.#keys.channel(owner), packMessage("ended", id, reason)));
    void this.#track(this.#redis.del(...this.#keys.session(id)));
  }

  /**
   * Ends a session now, wherever it is carried, if this server claims it first; otherwise the
   * server that did claim it ends it (and tells its carrier).
   */
  async #claimOne(id: string, reason: ServerSessionEndReason): Promise<void> {
    const [s] = this.#keys.session(id);
    const claimed = await this.#track(
      runScript(this.#redis, "tetherClaimOne", s, this.#keys.expiry, id, this.#keys.prefix, LINGER_MS),
    );
    if (claimed === null) return;
    const [owner, timeout, principal] = claimed as [Buffer, Buffer, Buffer];
    this.#ended(id, owner.toString(), Number(timeout.toString()), principal, reason);
  }

  #onMessage(raw: Buffer): void {
    let message: unknown[];
    try {
      message = unpackMultiple(raw) as unknown[];
    } catch (error) {
      this.#logger.warn({ err: error }, "undecodable cluster message");
      return;
    }
    const id = message[1];
    if (typeof id !== "string") return;
    const early = this.#resuming.get(id);
    if (early !== undefined) {
      early.push(message);
      return;
    }
    const session = this.#sessions.get(id);
    if (session !== undefined) this.#apply(session, message);
  }

  /** A message from another server (or from a script) about a session carried here. */
  #apply(session: ClusterSession, message: unknown[]): void {
    switch (message[0]) {
      case "push": {
        const seq = message[2] as number;
        const [topic, body] = message[3] as [string, unknown];
        if (seq === session.deliveredPushSeq + 1)
          session.deliverPush({ type: MessageType.Push, seq, topic, body });
        else if (seq > session.deliveredPushSeq) void this.#refill(session);
        return;
      }
      case "response":
        session.deliverResponse(message[2] as ResponseMessage);
        return;
      case "moved":
        // Resumed on another server after this one's own resume (an older move is stale).
        if ((message[2] as number) > session.epoch) this.#letGo(session, "moved");
        return;
      case "ended":
        this.#letGo(session, message[2] as ServerSessionEndReason);
        return;
    }
  }

  /**
   * This server stops carrying the session: it moved (its connection gets 4006; requests
   * running here still answer, through Redis), or it ended elsewhere (or vanished from Redis),
   * and its end runs here without expire listeners (those ran where it was claimed).
   */
  #letGo(session: ClusterSession, why: "moved" | ServerSessionEndReason): void {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    this.#forget(session);
    if (why === "moved") session.link?.end(CloseCode.SessionMoved, "session resumed on another server");
    else session.end(why);
  }

  /** Re-reads pushes after a gap (a missed message), in order. */
  async #refill(session: ClusterSession): Promise<void> {
    if (this.#refilling.has(session)) return;
    this.#refilling.add(session);
    try {
      const [, p] = this.#keys.session(session.id);
      const entries = await this.#redis.xrangeBuffer(p, `${session.deliveredPushSeq + 1}-0`, "+");
      for (const [entryId, fields] of entries) {
        const [topic, body] = packr.unpack(fields[1] as Buffer) as [string, unknown];
        session.deliverPush({ type: MessageType.Push, seq: streamSeq(entryId), topic, body });
      }
    } catch (error) {
      this.#logger.warn({ err: error, session: session.id }, "could not re-read pushes");
    } finally {
      this.#refilling.delete(session);
    }
  }

  /** After the subscriber reconnects: pushes, answers and ends that may have been missed. */
  async #resync(session: ClusterSession): Promise<void> {
    const [s, , r] = this.#keys.session(session.id);
    const [state, owner] = await this.#redis.hmget(s, "state", "owner").catch(() => ["live", this.serverId]);
    if (this.#sessions.get(session.id) !== session) return;
    if (state !== "live" || owner !== this.serverId) {
      // Ended, or moved, while we were not listening.
      this.#letGo(session, state === "live" ? "moved" : "expired");
      return;
    }
    await this.#refill(session);
    const kept = await this.#redis.hgetallBuffer(r).catch(() => ({}));
    for (const value of Object.values(kept)) session.deliverResponse(packr.unpack(value) as ResponseMessage);
  }

  #forget(session: ClusterSession): void {
    this.#touched.delete(session);
    this.#acked.delete(session);
  }

  /** `roundToNextInterval`: the end of the bucket `time` falls in. */
  #bucket(time: number): number {
    return (Math.floor(time / this.tickTime) + 1) * this.tickTime;
  }

  /** Remembers an operation so `close()` waits for it before hanging up. */
  #track<T>(operation: Promise<T>): Promise<T> {
    this.#inFlight.add(operation);
    const done = () => this.#inFlight.delete(operation);
    operation.then(done, done);
    return operation;
  }
}

/** The `sessionStore` option for servers that share sessions through Redis. */
export function redisSessionStore(options: RedisSessionStoreOptions = {}): SessionStoreFactory {
  return (context) => new RedisSessionStore(context, options);
}

function connect(redis: string | RedisOptions | undefined): Redis {
  // Auto-pipelining sends every command issued in one tick in one write.
  if (typeof redis === "string") return new Redis(redis, { enableAutoPipelining: true });
  return new Redis({ enableAutoPipelining: true, ...redis });
}

/** ZooKeeper's `dump` layout: each deadline bucket, then its sessions. */
function formatDump<T>(
  where: string,
  now: number,
  buckets: Map<number, T[]>,
  line: (item: T) => string,
): string {
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  let count = 0;
  for (const [, items] of sorted) count += items.length;
  const lines = [`Session Sets (${sorted.length})/(${count}) ${where}:`];
  for (const [time, items] of sorted) {
    lines.push(`${time} (in ${Math.round(time - now)} ms): ${items.length} sessions`);
    for (const item of items) lines.push(`\t${line(item)}`);
  }
  return lines.join("\n");
}

/** A zero-copy Buffer view, which ioredis takes as binary. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
