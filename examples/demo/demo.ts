import { readFileSync } from "node:fs";
import * as http from "node:http";
import {
  type ClientState,
  createClient,
  createServer,
  type MemorySessionStore,
  systemClock,
  type TetherClient,
} from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { attachWebSocket, webSocket } from "@tether/transport-ws";
import { CuttableTransport } from "./cuttable-transport.js";

export interface DemoOptions {
  /** HTTP port for the dashboard and the WebSocket endpoint `/tether`. 0: any free port. */
  port?: number;
  /** Simulated clients, half over TCP and half over WebSocket. Default 24. */
  clients?: number;
  /** Session timeout the clients ask for. Default 6000 ms. */
  timeout?: number;
  tickTime?: number;
  /** Replace expired clients with fresh ones after this long. Default 5000 ms; 0: never. */
  respawnAfter?: number;
  log?: (line: string) => void;
}

interface SimClient {
  name: string;
  transport: CuttableTransport;
  client: TetherClient;
  requests: number;
  pushes: number;
  timers: Set<ReturnType<typeof setTimeout>>;
}

const DASHBOARD = readFileSync(new URL("./dashboard.html", import.meta.url), "utf8");

/**
 * One process, the whole story: a Tether server on TCP and on WebSocket (the latter on the
 * dashboard's own HTTP port), a crowd of clients kept busy, and fault buttons that pull a
 * client's cable, kill its connection or freeze it for a moment.
 */
export async function startDemo(options: DemoOptions = {}) {
  const T = options.timeout ?? 6000;
  const tickTime = options.tickTime ?? 1000;
  const log = options.log ?? (() => {});
  const stamp = () => new Date().toISOString().slice(11, 23);
  const say = (who: string, what: string) => log(`${stamp()}  ${who.padEnd(8)} ${what}`);

  const server = createServer({ tickTime, maxConnectionsPerAddress: 0 });
  // The dashboard draws the in-process ExpiryQueue: the default store's tracker.
  const { tracker } = server.store as MemorySessionStore;
  server.handle("work", async (body) => {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
    return { echoed: body };
  });
  const names = new Map<string, string>(); // session id → client name
  server.on("expire", (session, reason) =>
    say(names.get(session.id) ?? "?", `session ${session.id.slice(0, 8)} ${reason} on the server`),
  );

  const httpServer = http.createServer((request, response) => route(request, response));
  attachWebSocket(httpServer, { path: "/tether" }, (connection) => server.accept(connection));
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = httpServer.address() as { port: number };
  const wsAddress = `ws://127.0.0.1:${port}/tether`;
  const tcpListener = await server.listen(tcp(), "127.0.0.1:0");

  const clients = new Map<string, SimClient>();
  const pushTimer = setInterval(() => {
    for (const session of server.sessions()) session.push("news", { at: Date.now() });
  }, 2000);
  let stopped = false;
  let generation = 0;

  function spawn(slot: number): void {
    const overTcp = slot % 2 === 0;
    const name = `${overTcp ? "tcp" : "ws"}-${String(slot).padStart(2, "0")}${generation > 0 ? `.${generation}` : ""}`;
    const transport = new CuttableTransport(overTcp ? tcp() : webSocket());
    const client = createClient({
      servers: [{ transport, address: overTcp ? tcpListener.address : wsAddress }],
      timeout: T,
      backoff: { initial: 200, max: 2000 },
    });
    const sim: SimClient = { name, transport, client, requests: 0, pushes: 0, timers: new Set() };
    clients.set(name, sim);
    let first = true;
    client.on("state", (state: ClientState) => {
      if (state === "connected") {
        names.set(client.sessionId as string, name);
        say(
          name,
          first
            ? `session ${client.sessionId?.slice(0, 8)} opened over ${transport.name} (T=${client.sessionTimeout} ms)`
            : "resumed its session",
        );
        first = false;
      } else {
        say(name, state === "disconnected" ? "disconnected: reconnecting to resume" : state);
      }
      if (state === "expired" && (options.respawnAfter ?? 5000) > 0) {
        later(sim, options.respawnAfter ?? 5000, () => {
          clients.delete(name);
          generation++;
          if (!stopped) spawn(slot);
        });
      }
    });
    client.on("push", () => sim.pushes++);
    // Every other client stays quiet, so both pings (idle) and busy traffic are on show.
    if (slot % 4 < 2) {
      const work = () => {
        if (["expired", "closed"].includes(client.state)) return;
        void client.request("work", sim.requests, { timeout: 4 * T }).then(
          () => sim.requests++,
          () => {},
        );
        later(sim, 500 + Math.random() * 1500, work);
      };
      later(sim, Math.random() * 1000, work);
    }
  }

  function later(sim: SimClient, ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      sim.timers.delete(timer);
      fn();
    }, ms);
    sim.timers.add(timer);
  }

  const count = options.clients ?? 24;
  for (let slot = 0; slot < count; slot++) spawn(slot);

  function state() {
    const now = systemClock.now();
    return {
      timeout: T,
      tickTime,
      metrics: server.metrics(),
      clients: [...clients.values()].map((sim) => {
        const id = sim.client.sessionId;
        const expiry = id === null ? null : tracker.getExpiration(id);
        return {
          name: sim.name,
          transport: sim.transport.name,
          state: sim.client.state,
          session: id?.slice(0, 8) ?? null,
          timeout: sim.client.sessionTimeout,
          expiresIn: expiry === null ? null : Math.round(expiry - now),
          cut: sim.transport.cut,
          requests: sim.requests,
          pushes: sim.pushes,
        };
      }),
      buckets: [...tracker.getSessionExpiryMap()].map(([time, sessions]) => ({
        in: Math.round(time - now),
        clients: sessions.map((s) => names.get(s.id) ?? s.id.slice(0, 8)),
      })),
    };
  }

  function act(name: string, action: string): boolean {
    const sim = clients.get(name);
    if (sim === undefined) return false;
    if (action === "blackhole") {
      sim.transport.cut = !sim.transport.cut;
      say(name, sim.transport.cut ? "cable pulled (black-hole): nobody hears a thing" : "cable back");
    } else if (action === "kill") {
      say(name, "connection killed");
      sim.transport.killConnections();
    } else if (action === "pause") {
      // Frozen for 0.6T: long enough to miss its read timeout, short enough to keep the session.
      say(name, `frozen for ${Math.round(0.6 * T)} ms`);
      sim.transport.cut = true;
      later(sim, 0.6 * T, () => {
        sim.transport.cut = false;
      });
    } else {
      return false;
    }
    return true;
  }

  function route(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method === "GET" && url.pathname === "/") {
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(DASHBOARD);
    } else if (request.method === "GET" && url.pathname === "/favicon.ico") {
      response.writeHead(204, { "Cache-Control": "max-age=86400" }).end(); // no icon, and no 404 for it
    } else if (request.method === "GET" && url.pathname === "/api/state") {
      response
        .writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" })
        .end(JSON.stringify(state()));
    } else if (
      request.method === "GET" &&
      (url.pathname === "/admin/stat" || url.pathname === "/admin/dump")
    ) {
      // ZooKeeper's four-letter words, over HTTP.
      const text = url.pathname.endsWith("stat") ? server.stat() : tracker.dump();
      response.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end(`${text}\n`);
    } else if (request.method === "POST" && url.pathname.startsWith("/api/clients/")) {
      const [, , , name, action] = url.pathname.split("/");
      const ok = act(decodeURIComponent(name ?? ""), action ?? "");
      response.writeHead(ok ? 204 : 404).end();
    } else {
      response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    }
  }

  return {
    server,
    url: `http://127.0.0.1:${port}/`,
    wsAddress,
    tcpAddress: tcpListener.address,
    clients,
    state,
    act,
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(pushTimer);
      for (const sim of clients.values()) {
        for (const timer of sim.timers) clearTimeout(timer);
        sim.transport.cut = false;
      }
      await Promise.all([...clients.values()].map((sim) => sim.client.close()));
      await server.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

export type Demo = Awaited<ReturnType<typeof startDemo>>;
