// One server of the cluster example, in a process of its own so main.ts can kill it.
// argv: name, Redis (a URL or a Unix socket path). Reports its address over IPC.
import { redisSessionStore } from "@tether/cluster-redis";
import { createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";

const [name = "server", redis = "redis://127.0.0.1:6379"] = process.argv.slice(2);

const server = createServer({
  tickTime: 200,
  maxConnectionsPerAddress: 0,
  sessionStore: redisSessionStore({ redis, prefix: "tether-example:", serverId: name }),
});
server.handle("add", (body) => {
  const { a, b } = body as { a: number; b: number };
  return { sum: a + b, by: name };
});
// Runs once per session in the whole cluster, on whichever server ends it.
server.on("expire", (session, reason) => console.log(`${name}: session ${session.id.slice(0, 8)} ${reason}`));

const { address } = await server.listen(tcp(), "127.0.0.1:0");
process.send?.({ address });
// Every second, this server pushes the time to every session it carries.
setInterval(() => {
  for (const session of server.sessions()) session.push("tick", { from: name, at: Date.now() });
}, 1000).unref();
