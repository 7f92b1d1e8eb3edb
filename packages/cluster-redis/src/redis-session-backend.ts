import {
  type AnswerToKeep,
  type BackendListener,
  type BackendMessage,
  type ClaimedSession,
  type ClaimLease,
  ConfigurationError,
  encodeFrame,
  type KeptAnswer,
  type Logger,
  MessageType,
  type NewSessionRecord,
  type PushMessage,
  type RequestAdmission,
  type RequestRef,
  type ResponseMessage,
  type ResumedSession,
  type ServerSessionEndReason,
  type SessionBackend,
  type SessionSnapshot,
} from "@tether/core";
import {
  Cluster,
  type ClusterNode,
  type ClusterOptions,
  type Redis,
  Redis as RedisClient,
  type RedisOptions,
} from "ioredis";
import { unpackMultiple } from "msgpackr";
import { ChannelSubscriber } from "./channel-subscriber.js";
import {
  admissionsOf,
  asResponse,
  hashPassword,
  keptBytes,
  keptOf,
  packMessage,
  packr,
  responseOf,
  streamSeq,
  unpackPrincipal,
} from "./encoding.js";
import { ClusterKeys } from "./keys.js";
import { defineScripts, runScript } from "./scripts.js";
import { SessionRuns } from "./session-runs.js";

/** How long keys of an ended session stay if the server ending it dies before deleting them. */
const LINGER_MS = 60_000;

/**
 * Requests or answers per script call, at most, and bytes of answers: a script holds Redis
 * while it runs, and Redis closes a connection whose pending commands pass its query buffer
 * limit (1 GB by default).
 */
const MAX_BATCH = 1000;
const MAX_BATCH_BYTES = 4 << 20;

/**
 * Partitions on a Redis Cluster: enough hash slots that the partitions spread over the masters
 * of a cluster of a few dozen (each partition's sets live on one). Every server of a cluster
 * must agree on it, so it is not an option.
 */
export const REDIS_CLUSTER_PARTITIONS = 64;

/** A Redis Cluster for the store to connect to (and close): its seed nodes and ioredis options. */
export interface RedisClusterConnection {
  cluster: ClusterNode[];
  options?: ClusterOptions;
}

/** Where the sessions live: a Redis URL, options, a client, a Redis Cluster client or its nodes. */
export type RedisConnection = string | RedisOptions | Redis | Cluster | RedisClusterConnection;

/**
 * The session backend on one Redis or a Redis Cluster: each primitive is a Lua script
 * (atomic) on the keys of one partition, messages to a server go over its pub/sub channel, and
 * admissions and answers of a tick share a script call per partition. On one Redis what a tick
 * issues leaves in one write (auto-pipelining).
 */
export class RedisSessionBackend implements SessionBackend {
  readonly #redis: Redis | Cluster;
  readonly #subscriber: ChannelSubscriber;
  readonly #ownsRedis: boolean;
  readonly #keys: ClusterKeys;
  readonly #logger: Logger;

  constructor(redis: RedisConnection | undefined, prefix: string, logger: Logger) {
    if (!(redis instanceof Cluster) && (redis as { isCluster?: unknown } | undefined)?.isCluster === true) {
      // A Cluster from another copy of ioredis: taken as options, it would connect to 127.0.0.1:6379.
      throw new ConfigurationError(
        "the Redis Cluster client comes from another copy of ioredis than @tether/cluster-redis uses; pass { cluster: nodes } instead",
      );
    }
    const given = redis instanceof RedisClient || redis instanceof Cluster;
    this.#ownsRedis = !given;
    this.#redis = given ? redis : connect(redis);
    this.#keys = new ClusterKeys(prefix, this.#redis instanceof Cluster ? REDIS_CLUSTER_PARTITIONS : 1);
    this.#logger = logger;
    defineScripts(this.#redis);
    this.#subscriber = new ChannelSubscriber(this.#redis, logger);
    this.#redis.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
  }

  /** How many partitions the sessions are split into: 1 on one Redis, more on a Redis Cluster. */
  get partitions(): number {
    return this.#keys.partitions;
  }

  /** Every session of the cluster by deadline bucket (the first 10,000). */
  async deadlines(): Promise<Map<number, string[]>> {
    const limit = Math.ceil(10_000 / this.#keys.partitions);
    const lists = await Promise.all(
      this.#keys.all().map((n) => this.#redis.zrange(this.#keys.expiry(n), 0, limit - 1, "WITHSCORES")),
    );
    const buckets = new Map<number, string[]>();
    for (const flat of lists) {
      for (let i = 0; i < flat.length; i += 2) {
        const time = Number(flat[i + 1]);
        const list = buckets.get(time) ?? [];
        list.push(flat[i] as string);
        buckets.set(time, list);
      }
    }
    return new Map([...buckets].sort(([a], [b]) => a - b));
  }

  async subscribe(serverId: string, listener: BackendListener): Promise<void> {
    await this.#subscriber.subscribe(
      this.#keys.channel(serverId),
      (raw) => {
        const message = this.#decode(raw);
        if (message !== undefined) listener.message(message);
      },
      () => listener.resync(),
    );
  }

  async create(record: NewSessionRecord, owner: string): Promise<boolean> {
    const [s] = this.#keys.session(record.id);
    const created = await runScript(
      this.#redis,
      "tetherCreate",
      s,
      this.#keys.expiry(this.#keys.partitionOf(record.id)),
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
      this.#keys.expiry(this.#keys.partitionOf(id)),
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
    // The time is the value (compared on the stores' clock); the key's own expiry only tidies
    // up. Each partition has its own copy, so a claim script reads it beside the claims it takes over.
    const alive = this.#keys
      .all()
      .map((n) => this.#redis.set(this.#keys.liveness(n, serverId), aliveUntil, "PX", LINGER_MS));
    // XX GT: never revives a claimed session, never moves a deadline back. CH: how many moved.
    const moves = [...this.#keys.byPartition(deadlines, ([id]) => id)].map(([n, part]) =>
      this.#redis.call(
        "ZADD",
        this.#keys.expiry(n),
        "XX",
        "GT",
        "CH",
        ...part.flatMap(([id, at]) => [at, id]),
      ),
    );
    const [, moved] = await Promise.all([Promise.all(alive), Promise.all(moves)]);
    return (moved as number[]).reduce((sum, count) => sum + count, 0);
  }

  async vanished(ids: readonly string[]): Promise<boolean[]> {
    const scores = new Map<string, unknown>();
    await Promise.all(
      [...this.#keys.byPartition(ids, (id) => id)].map(async ([n, part]) => {
        const found = (await this.#redis.call("ZMSCORE", this.#keys.expiry(n), ...part)) as unknown[];
        for (const [i, id] of part.entries()) scores.set(id, found[i]);
      }),
    );
    return Promise.all(
      ids.map(async (id) =>
        scores.get(id) !== null ? false : (await this.#redis.exists(this.#keys.session(id)[0])) === 0,
      ),
    );
  }

  async claimDue(upTo: number, limit: number, lease: ClaimLease): Promise<ClaimedSession[]> {
    // Partitions are asked side by side for shares of `limit`; those that filled their share
    // may hold more, and are asked again while the limit allows.
    const claimed: ClaimedSession[] = [];
    let open = this.#keys.all();
    while (open.length > 0 && claimed.length < limit) {
      const left = limit - claimed.length;
      const asked = open.slice(0, left);
      const share = Math.floor(left / asked.length);
      const results = await Promise.all(asked.map((n) => this.#claimIn(n, upTo, share, lease)));
      for (const result of results) claimed.push(...result);
      open = asked.filter((_, i) => (results[i] as ClaimedSession[]).length === share);
    }
    return claimed;
  }

  async #claimIn(n: number, upTo: number, limit: number, lease: ClaimLease): Promise<ClaimedSession[]> {
    const claimed = (await runScript(
      this.#redis,
      "tetherClaim",
      this.#keys.expiry(n),
      this.#keys.claims(n),
      upTo,
      limit,
      this.#keys.tag(n),
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
    const n = this.#keys.partitionOf(id);
    const claimed = await runScript(
      this.#redis,
      "tetherClaimOne",
      s,
      this.#keys.expiry(n),
      this.#keys.claims(n),
      id,
      this.#keys.tag(n),
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
      this.#redis.zrem(this.#keys.claims(this.#keys.partitionOf(session.id)), session.id),
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

  /** One script call per partition (and thousand requests); each session's run of requests in it reads and writes its marks once. */
  admit(requests: readonly RequestRef[], serverId: string): Promise<RequestAdmission[]> {
    return this.#perPartition(
      requests,
      () => 0,
      async (n, part) => {
        const batch = new SessionRuns();
        for (const { id, seq } of part) batch.addRequest(id, seq);
        const [codes, values] = (await runScript(
          this.#redis,
          "tetherAdmit",
          this.#keys.expiry(n),
          this.#keys.tag(n),
          serverId,
          packr.pack(batch.items),
        )) as [Buffer, Buffer[]];
        return admissionsOf(codes, values);
      },
    );
  }

  async withdraw(id: string, seq: number, serverId: string): Promise<void> {
    const [, , r, q] = this.#keys.session(id);
    await runScript(this.#redis, "tetherWithdraw", r, q, seq, serverId);
  }

  /** One script call per partition (and thousand answers), as `admit`. */
  complete(answers: readonly AnswerToKeep[], maxResponses: number): Promise<KeptAnswer[]> {
    const kept = answers.map(({ id, response, runner, frame }) => ({
      id,
      seq: response.seq,
      runner,
      payload: keptBytes(response, frame),
    }));
    return this.#perPartition(
      kept,
      ({ payload }) => payload.byteLength,
      async (n, part) => {
        const batch = new SessionRuns();
        const sizes: number[] = [];
        const payloads: Uint8Array[] = [];
        for (const { id, seq, runner, payload } of part) {
          batch.addAnswer(id, runner, seq);
          sizes.push(payload.byteLength);
          payloads.push(payload);
        }
        const codes = (await runScript(
          this.#redis,
          "tetherComplete",
          this.#keys.expiry(n),
          this.#keys.tag(n),
          maxResponses,
          this.#keys.channel(""),
          packr.pack([batch.items, sizes]),
          Buffer.concat(payloads),
        )) as Buffer;
        return keptOf(codes);
      },
    );
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
    const responses = Object.values(kept).map(responseOf);
    return { live: state === "live", owner, pushes, responses };
  }

  async alive(serverId: string, now: number): Promise<boolean> {
    return Number((await this.#redis.get(this.#keys.liveness(0, serverId))) ?? 0) > now;
  }

  async close(serverId: string): Promise<void> {
    await Promise.allSettled(this.#keys.all().map((n) => this.#redis.del(this.#keys.liveness(n, serverId))));
    this.#subscriber.disconnect();
    if (this.#ownsRedis) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /**
   * Runs `batch` once per partition among `items`, in chunks of at most `MAX_BATCH` items
   * and `MAX_BATCH_BYTES` (as `bytesOf` weighs them; a larger item goes alone), and puts the
   * replies back in the items' order.
   */
  async #perPartition<T extends { id: string }, R>(
    items: readonly T[],
    bytesOf: (item: T) => number,
    batch: (partition: number, part: readonly T[]) => Promise<R[]>,
  ): Promise<R[]> {
    if (items.length === 0) return [];
    if (this.#keys.partitions === 1 && items.length <= MAX_BATCH) {
      let bytes = 0;
      for (const item of items) bytes += bytesOf(item);
      if (bytes <= MAX_BATCH_BYTES) return batch(0, items); // one call: nothing to split or put back
    }
    const replies = new Array<R>(items.length);
    const calls: Promise<void>[] = [];
    const run = (n: number, chunk: number[]) => {
      const call = batch(
        n,
        chunk.map((i) => items[i] as T),
      ).then((answers) => {
        for (const [k, i] of chunk.entries()) replies[i] = answers[k] as R;
      });
      calls.push(call);
    };
    const groups = this.#keys.byPartition(
      items.map((_, i) => i),
      (i) => (items[i] as T).id,
    );
    for (const [n, indices] of groups) {
      let chunk: number[] = [];
      let bytes = 0;
      for (const i of indices) {
        const size = bytesOf(items[i] as T);
        if (chunk.length > 0 && (chunk.length === MAX_BATCH || bytes + size > MAX_BATCH_BYTES)) {
          run(n, chunk);
          chunk = [];
          bytes = 0;
        }
        chunk.push(i);
        bytes += size;
      }
      run(n, chunk);
    }
    await Promise.all(calls);
    return replies;
  }

  #decode(raw: Buffer): BackendMessage | undefined {
    try {
      return messageOf(unpackMultiple(raw) as unknown[]);
    } catch (error) {
      this.#logger.warn({ err: error }, "undecodable cluster message");
      return undefined;
    }
  }
}

/** A pub/sub message's values (kind, session id, then kind-specific fields) as a message. */
function messageOf(message: unknown[]): BackendMessage | undefined {
  const [kind, id] = message;
  if (typeof id !== "string") return undefined;
  switch (kind) {
    case "push": {
      const [topic, body] = message[3] as [string, unknown];
      return { kind, id, push: { type: MessageType.Push, seq: message[2] as number, topic, body } };
    }
    case "response":
      return { kind, id, response: asResponse(message[2]) };
    case "moved":
      return { kind, id, epoch: message[2] as number };
    case "ended":
      return { kind, id, reason: message[2] as ServerSessionEndReason };
    default:
      return undefined;
  }
}

function connect(redis: string | RedisOptions | RedisClusterConnection | undefined): Redis | Cluster {
  // No auto-pipelining: the store batches its own commands (a turn's admissions in one script
  // call, a tick's touches in one), and ioredis's auto-pipelining builds a pipeline object per
  // flush that copies every defined script onto itself, which cost more CPU than the writes it
  // saved (BENCHMARKS.md). On a Cluster it would also break: ioredis follows a MOVED inside a
  // pipeline only if every command of it got the same one.
  if (typeof redis === "string") return new RedisClient(redis);
  if (redis !== undefined && "cluster" in redis) return new Cluster(redis.cluster, redis.options);
  return new RedisClient({ ...redis });
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
  for (let i = 1; i < flat.length; i += 2) responses.push(responseOf(flat[i] as Buffer));
  return responses;
}

/** A zero-copy Buffer view, which ioredis takes as binary. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
