import { readFileSync } from "node:fs";
import * as http from "node:http";
import { type Connection, createServer } from "@tether/core";
import { attachWebSocket } from "@tether/transport-ws";
import { build } from "esbuild";

/** Bundles app.ts for browsers: the `browser` condition picks the WebSocket transport's browser build. */
export async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [new URL("./app.ts", import.meta.url).pathname],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["tether-source", "browser"],
    logLevel: "silent",
  });
  return result.outputFiles[0]?.text ?? "";
}

/** Serves the page, its bundle and Tether on one port; POST /drop kills the server side of every connection. */
export async function startBrowserExample(port = 0) {
  const app = await bundle();
  const page = readFileSync(new URL("./index.html", import.meta.url), "utf8");
  const server = createServer({ tickTime: 250 });
  server.handle("echo", (body) => ({ echoed: body }));
  const connections = new Set<Connection>();
  const httpServer = http.createServer((request, response) => {
    if (request.url === "/") response.writeHead(200, { "Content-Type": "text/html" }).end(page);
    else if (request.url === "/app.js")
      response.writeHead(200, { "Content-Type": "text/javascript" }).end(app);
    else if (request.url === "/drop" && request.method === "POST") {
      for (const connection of connections) connection.abort();
      response.writeHead(204).end();
    } else response.writeHead(404).end();
  });
  attachWebSocket(httpServer, { path: "/tether" }, (connection) => {
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
    server.accept(connection);
  });
  await new Promise<void>((resolve) => httpServer.listen(port, "127.0.0.1", resolve));
  const { port: bound } = httpServer.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}/`,
    server,
    async stop() {
      await server.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startBrowserExample(Number(process.env.PORT ?? 7080));
  console.log(`open ${example.url}`);
}
