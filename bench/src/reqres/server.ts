/**
 * One echo server per process, chosen by argv[2]; it reports its address over IPC. Every server
 * answers a request [id, body] with the same body: the work is the transport and the framing.
 */
import * as http from "node:http";
import * as net from "node:net";
import { redisSessionStore } from "@tether/cluster-redis";
import { createServer, LengthPrefixDecoder } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { Packr } from "msgpackr";
import { Server as SocketIoServer } from "socket.io";
import { WebSocketServer } from "ws";
import type { Variant } from "./variants.js";

const packr = new Packr({ useRecords: false });

async function start(variant: Variant): Promise<string> {
  switch (variant) {
    case "raw-net": {
      // The fastest honest baseline: length-prefixed msgpack, every reply of one read in one write.
      const server = net.createServer((socket) => {
        socket.setNoDelay(true);
        const decoder = new LengthPrefixDecoder(16 * 1024 * 1024);
        socket.on("data", (chunk) => {
          socket.cork();
          decoder.push(chunk, (frame) => {
            const [id, body] = packr.unpack(frame) as [number, unknown];
            const reply = packr.pack([id, body]);
            const header = Buffer.allocUnsafe(4);
            header.writeUInt32BE(reply.byteLength);
            socket.write(header);
            socket.write(reply);
          });
          socket.uncork();
        });
        socket.on("error", () => {});
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    }
    case "raw-ws": {
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
      wss.on("connection", (ws) => {
        ws.on("message", (data) => {
          const [id, body] = packr.unpack(data as Buffer) as [number, unknown];
          ws.send(packr.pack([id, body]));
        });
      });
      await new Promise((resolve) => wss.once("listening", resolve));
      return `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}/`;
    }
    case "socket.io": {
      const httpServer = http.createServer();
      const io = new SocketIoServer(httpServer, { transports: ["websocket"], perMessageDeflate: false });
      io.on("connection", (socket) => socket.on("echo", (body, ack) => ack(body)));
      await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(httpServer.address() as net.AddressInfo).port}`;
    }
    case "tether-tcp":
    case "tether-tcp-redis":
    case "tether-tcp-redis-reads":
    case "tether-ws": {
      const redisPath = process.env.TETHER_BENCH_REDIS;
      const server = createServer({
        maxConnectionsPerAddress: 0,
        maxInFlightPerConnection: 256,
        ...(variant.startsWith("tether-tcp-redis") && redisPath !== undefined
          ? { sessionStore: redisSessionStore({ redis: { path: redisPath }, prefix: "reqres:" }) }
          : {}),
      });
      // IDEMPOTENT=1: the echo is registered idempotent, so its answers skip the session's cache.
      const idempotent = process.env.IDEMPOTENT === "1" || variant === "tether-tcp-redis-reads";
      server.handle("echo", (body) => body, { idempotent });
      const listener = await server.listen(variant === "tether-ws" ? webSocket() : tcp(), "127.0.0.1:0");
      return listener.address;
    }
  }
}

const address = await start(process.argv[2] as Variant);
process.send?.({ address });
// The load generator reads this process's CPU time (µs) at the start and end of its window.
process.on("message", (message) => {
  if (message === "cpu") {
    const used = process.cpuUsage();
    process.send?.({ cpu: used.user + used.system });
  }
});
// Exit on SIGINT (rather than dying) so --cpu-prof can write its profile.
process.on("SIGINT", () => process.exit(0));
