import { createServer } from "@tether/core";
import { webSocketUpgradeHandler } from "@tether/transport-ws";
import Fastify from "fastify";

/** A Fastify app; upgrades to `/tether` on its server are handed to Tether. */
export async function startFastifyApp(port = 0) {
  const tether = createServer();
  tether.handle("greet", (body) => `hello, ${String(body)}`);

  const app = Fastify();
  app.get("/health", async () => ({ ok: true, sessions: tether.metrics().sessions }));

  const upgrades = webSocketUpgradeHandler({}, (connection) => tether.accept(connection));
  app.server.on("upgrade", (request, socket, head) => {
    if (new URL(request.url ?? "/", "http://localhost").pathname === "/tether")
      upgrades.handleUpgrade(request, socket, head);
    else socket.destroy();
  });

  const url = await app.listen({ port, host: "127.0.0.1" });
  return {
    url,
    tetherAddress: `${url.replace("http", "ws")}/tether`,
    async stop() {
      await tether.close();
      await upgrades.close();
      await app.close();
    },
  };
}
