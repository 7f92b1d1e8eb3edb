import {
  type BackendListener,
  type BackendMessage,
  type ClaimedSession,
  type ClaimLease,
  ConfigurationError,
  encodeFrame,
  type Logger,
  MessageType,
  type NewSessionRecord,
  type PushMessage,
  type RequestAdmission,
  type ResponseMessage,
  type ResumedSession,
  type ServerSessionEndReason,
  type SessionBackend,
  type SessionSnapshot,
} from "@tether/core";
import DataLoader from "dataloader";
import { type Redis, Redis as RedisClient, type RedisOptions } from "ioredis";
import { unpackMultiple } from "msgpackr";
import { admissionOf, hashPassword, packMessage, packr, streamSeq, unpackPrincipal } from "./encoding.js";
import { ClusterKeys } from "./keys.js";
import { defineScripts, runScript } from "./scripts.js";

/** How long keys of an ended session stay if the server ending it dies before deleting them. */
const LINGER_MS = 60_000;

/**
 * The session backend on one Redis: each primitive is a Lua script (atomic), messages to a
 * server go over its pub/sub channel, and what one tick issues leaves in one write
 * (auto-pipelining; admissions and answers of a tick share a script call).
 */
export class RedisSessionBackend implements SessionBackend {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #ownsRedis: boolean;
  readonly #keys: ClusterKeys;
  readonly #logger: Logger;

  constructor(redis: string | RedisOptions | Redis | undefined, prefix: string, logger: Logger) {
    if ((redis as { isCluster?: unknown } | undefined)?.isCluster === true) {
      // Taken as options, it would connect to 127.0.0.1:6379 without a word.
      throw new ConfigurationError(
        "Redis Cluster is not supported: the store's scripts touch keys of several sessions; use one Redis (with replicas and Sentinel)",
      );
    }
    this.#ownsRedis = !(redis instanceof RedisClient);
    this.#redis = redis instanceof RedisClient ? redis : connect(redis);
    this.#keys = new ClusterKeys(prefix);
    this.#logger = logger;
    defineScripts(this.#redis);
    this.#subscriber = this.#redis.duplicate({ enableAutoPipelining: false });
    this.#redis.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
    this.#subscriber.on("error", (error) => logger.warn({ err: error }, "redis subscriber error"));
  }

  /** Every session of the cluster by deadline bucket (the first 10,000). */
  async deadlines(): Promise<Map<number, string[]>> {
    const flat = await this.#redis.zrange(this.#keys.expiry, 0, 9_999, "WITHSCORES");
    const buckets = new Map<number, string[]>();
    for (let i = 0; i < flat.length; i += 2) {
      const time = Number(flat[i + 1]);
      const list = buckets.get(time) ?? [];
      list.push(flat[i] as string);
      buckets.set(time, list);
    }
    return buckets;
  }

  async subscribe(serverId: string, listener: BackendListener): Promise<void> {
    const channel = this.#keys.channel(serverId);
    this.#subscriber.on("messageBuffer", (_channel: Buffer, raw: Buffer) => {
      const message = this.#decode(raw);
      if (message !== undefined) listener.message(message);
    });
    // Messages published while the subscriber was away are gone: after a reconnect, once the
    // subscription is back (so nothing falls between), the store re-reads what it carries.
    let connections = 0;
    this.#subscriber.on("ready", () => {
      if (connections++ === 0) return;
      this.#subscriber.subscribe(channel).then(
        () => listener.resync(),
        (error: unknown) => this.#logger.warn({ err: error }, "could not subscribe again"),
      );
    });
    await this.#subscriber.subscribe(channel);
  }

  async create(record: NewSessionRecord, owner: string): Promise<boolean> {
    const [s] = this.#keys.session(record.id);
    const created = await runScript(
      this.#redis,
      "tetherCreate",
      s,
      this.#keys.expiry,
      record.id,
      hashPassword(record.password),
      record.timeout,
      owner,
      record.deadline,
      packr.pack(record.principal),
    );
    return created === 1;
  }

  async resume(
    id: string,
    password: Uint8Array,
    owner: string,
    now: number,
    tickTime: number,
  ): Promise<ResumedSession | undefined> {
    const [s, p, r] = this.#keys.session(id);
    const reply = (await runScript(
      this.#redis,
      "tetherResume",
      s,
      p,
      r,
      this.#keys.expiry,
      id,
      hashPassword(password),
      owner,
      this.#keys.channel(""),
      now,
      tickTime,
    )) as [Buffer, Buffer, Buffer, Buffer[], Buffer[], number, Buffer, number, Buffer | null] | null;
    if (reply === null) return undefined;
    const [timeout, responseAck, principal, pushList, responseList, epoch, pushSeq, deadline, data] = reply;
    return {
      timeout: Number(timeout.toString()),
      principal: packr.unpack(principal),
      epoch,
      deadline,
      lastPushSeq: Number(pushSeq.toString()),
      responseAck: Number(responseAck.toString()),
      pushes: pushesOf(pushList),
      responses: responsesOf(responseList),
      data: data ?? undefined,
    };
  }

  async flushDeadlines(
    deadlines: ReadonlyArray<readonly [string, number]>,
    serverId: string,
    aliveUntil: number,
  ): Promise<number> {
    // The time is the value (compared on the stores' clock); the key's own expiry only tidies up.
    const alive = this.#redis.set(this.#keys.liveness(serverId), aliveUntil, "PX", LINGER_MS);
    if (deadlines.length === 0) {
      await alive;
      return 0;
    }
    // XX GT: never revives a claimed session, never moves a deadline back. CH: how many moved.
    const scores = deadlines.flatMap(([id, deadline]) => [deadline, id]);
    const [, moved] = await Promise.all([
      alive,
      this.#redis.call("ZADD", this.#keys.expiry, "XX", "GT", "CH", ...scores),
    ]);
    return moved as number;
  }

  async vanished(ids: readonly string[]): Promise<boolean[]> {
    const scores = (await this.#redis.call("ZMSCORE", this.#keys.expiry, ...ids)) as unknown[];
    return Promise.all(
      ids.map(async (id, i) =>
        scores[i] !== null ? false : (await this.#redis.exists(this.#keys.session(id)[0])) === 0,
      ),
    );
  }

  async claimDue(upTo: number, limit: number, lease: ClaimLease): Promise<ClaimedSession[]> {
    const claimed = (await runScript(
      this.#redis,
      "tetherClaim",
      this.#keys.expiry,
      this.#keys.claims,
      upTo,
      limit,
      this.#keys.prefix,
      LINGER_MS,
      lease.claimer,
      lease.now,
      lease.until,
    )) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer | null][];
    return claimed.map(([id, owner, timeout, principal, reason, data]) => ({
      id: id.toString(),
      reason: reason.toString() as ServerSessionEndReason,
      owner: owner.toString(),
      timeout: Number(timeout.toString()),
      principal: unpackPrincipal(principal),
      data: data ?? undefined,
    }));
  }

  async claim(
    id: string,
    reason: ServerSessionEndReason,
    lease: ClaimLease,
  ): Promise<ClaimedSession | undefined> {
    const [s] = this.#keys.session(id);
    const claimed = await runScript(
      this.#redis,
      "tetherClaimOne",
      s,
      this.#keys.expiry,
      this.#keys.claims,
      id,
      this.#keys.prefix,
      LINGER_MS,
      lease.claimer,
      reason,
      lease.until,
    );
    if (claimed === null) return undefined;
    const [owner, timeout, principal, data] = claimed as [Buffer, Buffer, Buffer, Buffer | null];
    return {
      id,
      reason,
      owner: owner.toString(),
      timeout: Number(timeout.toString()),
      principal: unpackPrincipal(principal),
      data: data ?? undefined,
    };
  }

  async release(session: ClaimedSession, reason: ServerSessionEndReason, serverId: string): Promise<void> {
    const told =
      session.owner === serverId
        ? undefined
        : this.#redis.publish(this.#keys.channel(session.owner), packMessage("ended", session.id, reason));
    await Promise.all([
      told,
      this.#redis.del(...this.#keys.session(session.id)),
      this.#redis.zrem(this.#keys.claims, session.id),
    ]);
  }

  async appendPush(
    id: string,
    topic: string,
    body: unknown,
    maxReplay: number,
  ): Promise<number | "gone" | "full"> {
    const [s, p] = this.#keys.session(id);
    // The wire codec's plain check: a body it cannot carry throws here, before Redis keeps it.
    const payload = asBuffer(encodeFrame([topic, body]));
    const seq = (await runScript(
      this.#redis,
      "tetherPush",
      s,
      p,
      id,
      payload,
      maxReplay,
      this.#keys.channel(""),
    )) as number;
    return seq === -1 ? "gone" : seq === -2 ? "full" : seq;
  }

  admit(id: string, seq: number, serverId: string): Promise<RequestAdmission> {
    return this.#admissions.load({ id, seq, serverId });
  }

  async withdraw(id: string, seq: number, serverId: string): Promise<void> {
    await runScript(this.#redis, "tetherWithdraw", this.#keys.session(id)[3], seq, serverId);
  }

  async complete(
    id: string,
    response: ResponseMessage,
    runner: string,
    maxResponses: number,
  ): Promise<"kept" | "refused" | "full"> {
    const kept = await this.#answers.load({ id, response, runner, maxResponses });
    return kept === 1 ? "kept" : kept === -2 ? "full" : "refused";
  }

  async writeData(id: string, data: Uint8Array): Promise<void> {
    await runScript(this.#redis, "tetherData", this.#keys.session(id)[0], asBuffer(data));
  }

  async acknowledge(id: string, pushAck: number, responseAck: number): Promise<void> {
    const [s, p, r, q] = this.#keys.session(id);
    await runScript(this.#redis, "tetherAck", s, p, r, q, pushAck, responseAck);
  }

  async read(id: string, afterPushSeq: number): Promise<SessionSnapshot | undefined> {
    const [s, p, r] = this.#keys.session(id);
    const [[state, owner], entries, kept] = await Promise.all([
      this.#redis.hmget(s, "state", "owner"),
      this.#redis.xrangeBuffer(p, `${afterPushSeq + 1}-0`, "+"),
      this.#redis.hgetallBuffer(r),
    ]);
    if (state == null || owner == null) return undefined;
    const pushes = entries.map(([entryId, fields]) => pushOf(entryId, fields[1] as Buffer));
    const responses = Object.values(kept).map((value) => packr.unpack(value) as ResponseMessage);
    return { live: state === "live", owner, pushes, responses };
  }

  async alive(serverId: string, now: number): Promise<boolean> {
    return Number((await this.#redis.get(this.#keys.liveness(serverId))) ?? 0) > now;
  }

  async close(serverId: string): Promise<void> {
    await Promise.allSettled([this.#redis.del(this.#keys.liveness(serverId))]);
    this.#subscriber.disconnect();
    if (this.#ownsRedis) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** Requests arriving in one tick are admitted by one script call (per server id). */
  readonly #admissions = new DataLoader<{ id: string; seq: number; serverId: string }, RequestAdmission>(
    async (requests) => {
      const serverId = (requests[0] as { serverId: string }).serverId;
      const args = requests.flatMap(({ id, seq }) => [id, seq]);
      const replies = (await runScript(this.#redis, "tetherAdmit", this.#keys.prefix, serverId, ...args)) as [
        number,
        Buffer?,
      ][];
      return replies.map(admissionOf);
    },
    { cache: false, maxBatchSize: 1000 },
  );

  /** Answers finished in one tick are kept by one script call: 1 kept, 0 not, -2 over the bound. */
  readonly #answers = new DataLoader<
    { id: string; response: ResponseMessage; runner: string; maxResponses: number },
    number
  >(
    async (answers) => {
      const args = answers.flatMap(({ id, response, runner }) => [
        id,
        response.seq,
        packr.pack(response),
        runner,
      ]);
      const max = (answers[0] as { maxResponses: number }).maxResponses;
      return (await runScript(
        this.#redis,
        "tetherComplete",
        this.#keys.prefix,
        max,
        this.#keys.channel(""),
        ...args,
      )) as number[];
    },
    { cache: false, maxBatchSize: 1000 },
  );

  #decode(raw: Buffer): BackendMessage | undefined {
    let message: unknown[];
    try {
      message = unpackMultiple(raw) as unknown[];
    } catch (error) {
      this.#logger.warn({ err: error }, "undecodable cluster message");
      return undefined;
    }
    const [kind, id] = message;
    if (typeof id !== "string") return undefined;
    switch (kind) {
      case "push": {
        const [topic, body] = message[3] as [string, unknown];
        return { kind, id, push: { type: MessageType.Push, seq: message[2] as number, topic, body } };
      }
      case "response":
        return { kind, id, response: message[2] as ResponseMessage };
      case "moved":
        return { kind, id, epoch: message[2] as number };
      case "ended":
        return { kind, id, reason: message[2] as ServerSessionEndReason };
      default:
        return undefined;
    }
  }
}

function connect(redis: string | RedisOptions | undefined): Redis {
  // Auto-pipelining sends every command issued in one tick in one write.
  if (typeof redis === "string") return new RedisClient(redis, { enableAutoPipelining: true });
  return new RedisClient({ enableAutoPipelining: true, ...redis });
}

function pushOf(entryId: Buffer | string, payload: Buffer): PushMessage {
  const [topic, body] = packr.unpack(payload) as [string, unknown];
  return { type: MessageType.Push, seq: streamSeq(entryId), topic, body };
}

/** A flat stream-entry list (id, payload, id, payload, ...) as pushes. */
function pushesOf(flat: Buffer[]): PushMessage[] {
  const pushes: PushMessage[] = [];
  for (let i = 0; i < flat.length; i += 2) pushes.push(pushOf(flat[i] as Buffer, flat[i + 1] as Buffer));
  return pushes;
}

/** A flat hash (seq, answer, seq, answer, ...) as answers. */
function responsesOf(flat: Buffer[]): ResponseMessage[] {
  const responses: ResponseMessage[] = [];
  for (let i = 1; i < flat.length; i += 2) responses.push(packr.unpack(flat[i] as Buffer) as ResponseMessage);
  return responses;
}

/** A zero-copy Buffer view, which ioredis takes as binary. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
