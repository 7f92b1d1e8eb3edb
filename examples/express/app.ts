import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "@tether/core";
import { attachWebSocket } from "@tether/transport-ws";
import express from "express";

/** An Express app whose HTTP server also carries Tether sessions on `/tether`. */
export async function startExpressApp(port = 0) {
  const tether = createServer();
  tether.handle("greet", (body) => `hello, ${String(body)}`);

  const app = express();
  app.get("/health", (_request, response) => {
    response.json({ ok: true, sessions: tether.metrics().sessions });
  });

  const http: Server = await new Promise((resolve, reject) => {
    const server = createHttpServer(app);
    server.once("error", (error: NodeJS.ErrnoException) => {
      void tether.close();
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`port ${port} is already in use: stop what holds it, or set PORT to another`)
          : error,
      );
    });
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
  const listener = attachWebSocket(http, { path: "/tether" }, (connection) => tether.accept(connection));
  const { port: bound } = http.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}`,
    tetherAddress: listener.address,
    async stop() {
      await tether.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
