/**
 * Where a cluster keeps things in Redis, under one prefix shared by every server of it.
 *
 * Sessions are split into partitions by a hash of their id. Each partition has its own
 * `expiry` (sorted set: session id → deadline bucket), `claims` (sorted set: claimed session id
 * → end of its claim's lease) and `srv:<server>` (each server's liveness), and per session
 * `s:<id>` (record hash), `p:<id>` (push stream), `r:<id>` (kept answers) and `q:<id>` (running
 * requests). Every script touches keys of one partition only; on a Redis Cluster a partition's
 * keys share a hash tag (`<prefix>{<n>}`), so they share a hash slot. On one Redis there is one
 * partition and no tag: keys are `<prefix>expiry`, `<prefix>s:<id>` and so on. Pub/sub channel
 * `c:<server>` per server (channels are not keys).
 */
export class ClusterKeys {
  readonly #tags: string[];

  /** `partitions` must be the same on every server of the cluster. */
  constructor(
    readonly prefix: string,
    readonly partitions = 1,
  ) {
    this.#tags =
      partitions === 1 ? [prefix] : Array.from({ length: partitions }, (_, n) => `${prefix}{${n}}`);
  }

  /** The partition `id` belongs to. */
  partitionOf(id: string): number {
    return this.partitions === 1 ? 0 : fnv1a(id) % this.partitions;
  }

  /** Every partition's number. */
  all(): number[] {
    return Array.from({ length: this.partitions }, (_, n) => n);
  }

  /** `items` grouped by the partition of the session each names, in their order. */
  byPartition<T>(items: readonly T[], idOf: (item: T) => string): Map<number, readonly T[]> {
    // No group for an empty list: callers send a command per group.
    if (this.partitions === 1) return items.length === 0 ? new Map() : new Map([[0, items]]);
    const groups = new Map<number, T[]>();
    for (const item of items) {
      const n = this.partitionOf(idOf(item));
      const group = groups.get(n);
      if (group === undefined) groups.set(n, [item]);
      else group.push(item);
    }
    return groups;
  }

  /** What every key of partition `n` starts with (scripts complete it with a session id). */
  tag(n: number): string {
    return this.#tags[n] as string;
  }

  /** Partition `n`'s sorted set of its sessions' deadline buckets. */
  expiry(n: number): string {
    return `${this.tag(n)}expiry`;
  }

  /** Partition `n`'s sorted set of claimed, unreleased sessions: id → when the lease ends. */
  claims(n: number): string {
    return `${this.tag(n)}claims`;
  }

  /** A server's liveness key in partition `n` (each partition has its own, written each tick). */
  liveness(n: number, serverId: string): string {
    return `${this.tag(n)}srv:${serverId}`;
  }

  /** The session's record, push stream, kept answers and running requests. */
  session(id: string): [string, string, string, string] {
    const t = this.tag(this.partitionOf(id));
    return [`${t}s:${id}`, `${t}p:${id}`, `${t}r:${id}`, `${t}q:${id}`];
  }

  /** A server's pub/sub channel; `channel("")` is the prefix scripts complete with a server id. */
  channel(serverId: string): string {
    return `${this.prefix}c:${serverId}`;
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units: cheap, and spreads random ids evenly. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
