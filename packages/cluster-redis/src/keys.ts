/**
 * Where a cluster keeps things in Redis, under one prefix shared by every server of it:
 * `expiry` (sorted set: session id → deadline bucket), `claims` (sorted set: claimed session id
 * → end of its claim's lease), `srv:<server>` (liveness), and per
 * session `s:<id>` (record hash), `p:<id>` (push stream), `r:<id>` (kept answers) and `q:<id>`
 * (running requests); pub/sub channel `c:<server>` per server.
 */
export class ClusterKeys {
  constructor(readonly prefix: string) {}

  /** The sorted set of every session's deadline bucket. */
  get expiry(): string {
    return `${this.prefix}expiry`;
  }

  /** The sorted set of claimed, unreleased sessions: session id → when the claim's lease ends. */
  get claims(): string {
    return `${this.prefix}claims`;
  }

  /** A server's liveness key (set with an expiry each tick). */
  liveness(serverId: string): string {
    return `${this.prefix}srv:${serverId}`;
  }

  /** The session's record, push stream, kept answers and running requests. */
  session(id: string): [string, string, string, string] {
    const p = this.prefix;
    return [`${p}s:${id}`, `${p}p:${id}`, `${p}r:${id}`, `${p}q:${id}`];
  }

  /** A server's pub/sub channel; `channel("")` is the prefix scripts complete with a server id. */
  channel(serverId: string): string {
    return `${this.prefix}c:${serverId}`;
  }
}
