// One Tether server of a test cluster, in its own process (so a test can SIGKILL it), sharing
// sessions through Redis. Driven over IPC by test/cluster/kill.test.ts:
//   { start }  → listens on 127.0.0.1:0 (or the address given), answers { address }
//   { ghosts } → opens clients in this process (they die with it), answers { ghosts: ids }
//   { pushTo } → pushes a counter to those sessions every few ms until { stopPushing }, which
//                answers { pushed: id → counters whose push() resolved }
// and reports every `expire` it runs as { expired: [id, reason, wall-clock ms] }.

import { redisSessionStore, wallClock } from "@tether/cluster-redis";
import { createClient, createServer, type TetherClient, type TetherServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { Redis } from "ioredis";

interface Start {
  redisPath: string;
  prefix: string;
  serverId: string;
  tickTime: number;
  /** Where to listen (a restarted server takes its predecessor's port). Default 127.0.0.1:0. */
  address?: string;
}

const send = (message: unknown) => process.send?.(message);
let config: Start;
let redis: Redis;
let tether: TetherServer;
const ghosts: TetherClient[] = [];
let pushing: { timer: NodeJS.Timeout; pushed: Record<string, number[]> } | undefined;

const server = (start: Start) => {
  const s = createServer({
    tickTime: start.tickTime,
    maxConnectionsPerAddress: 0,
    sessionStore: redisSessionStore({
      redis: { path: start.redisPath },
      prefix: start.prefix,
      serverId: start.serverId,
    }),
  });
  // Every run is counted in Redis before the answer exists: a request run twice shows as 2.
  s.handle("work", async (body) => {
    const { rid, delay } = body as { rid: string; delay?: number };
    await redis.hincrby(`${start.prefix}runs`, rid, 1);
    if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
    return { rid, by: start.serverId };
  });
  s.on("expire", (session, reason) => send({ expired: [session.id, reason, wallClock.now()] }));
  return s;
};

process.on("message", async (message: Record<string, unknown>) => {
  if ("start" in message) {
    config = message.start as Start;
    redis = new Redis({ path: config.redisPath, enableAutoPipelining: true });
    tether = server(config);
    const listener = await tether.listen(tcp(), config.address ?? "127.0.0.1:0");
    send({ address: listener.address });
  } else if ("ghosts" in message) {
    const { addresses, timeout } = message.ghosts as { addresses: string[]; timeout: number };
    const ids: string[] = [];
    for (const address of addresses) {
      const client = createClient({ servers: [{ transport: tcp(), address }], timeout });
      ghosts.push(client);
      await client.connected();
      ids.push(client.sessionId as string);
      // Busy until the end: its last frame is at most 50 ms before this process dies.
      let n = 0;
      setInterval(
        () => client.request("work", { rid: `ghost-${client.sessionId}-${n++}` }).catch(() => {}),
        50,
      );
    }
    send({ ghosts: ids });
  } else if ("pushTo" in message) {
    const { ids, every } = message.pushTo as { ids: string[]; every: number };
    const pushed: Record<string, number[]> = Object.fromEntries(ids.map((id) => [id, []]));
    let counter = 0;
    pushing = {
      pushed,
      timer: setInterval(() => {
        for (const id of ids) {
          const n = counter++;
          tether
            .push(id, "count", n)
            .then(() => pushed[id]?.push(n))
            .catch(() => {});
        }
      }, every),
    };
  } else if ("stopPushing" in message && pushing !== undefined) {
    clearInterval(pushing.timer);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the last pushes' replies
    for (const list of Object.values(pushing.pushed)) list.sort((a, b) => a - b);
    send({ pushed: pushing.pushed });
  }
});
