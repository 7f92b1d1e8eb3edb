/**
 * bench/fanout: the server pushes ROUNDS messages of 100 bytes to each of 1,000 sessions;
 * deliveries per second until the last one arrives, against socket.io's broadcast
 * (`io.emit`) measured in the same run. Receivers run in a process of their own.
 */
import { fork } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { Server as SocketIoServer } from "socket.io";

const RECEIVERS = Number(process.env.RECEIVERS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 200);
const body = new Uint8Array(100).fill(1);
const variants = ["tether-ws", "tether-tcp", "socket.io"] as const;
type Variant = (typeof variants)[number];

async function startServer(
  variant: Variant,
): Promise<{ address: string; broadcast: () => void; close: () => Promise<void> }> {
  if (variant === "socket.io") {
    const httpServer = http.createServer();
    const server = new SocketIoServer(httpServer, { transports: ["websocket"], perMessageDeflate: false });
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    return {
      address: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`,
      broadcast: () => server.emit("news", body),
      close: async () => {
        server.close();
        httpServer.closeAllConnections();
      },
    };
  }
  // Every receiver dials from 127.0.0.1: no per-address bounds.
  const server = createServer({ maxConnectionsPerAddress: 0, maxSessionsPerAddress: 0 });
  const listener = await server.listen(variant === "tether-tcp" ? tcp() : webSocket(), "127.0.0.1:0");
  return {
    address: listener.address,
    broadcast: () => {
      for (const session of server.sessions()) session.push("news", body);
    },
    close: () => server.close(),
  };
}

async function measure(variant: Variant): Promise<number> {
  const server = await startServer(variant);
  const expected = RECEIVERS * ROUNDS;
  const child = fork(
    fileURLToPath(new URL("./receivers.ts", import.meta.url)),
    [variant, server.address, String(RECEIVERS), String(expected)],
    {
      execArgv: ["--conditions=tether-source", "--import", "tsx"],
    },
  );
  await new Promise((resolve) => child.once("message", resolve));
  const done = new Promise((resolve) => child.once("message", resolve));
  const start = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    server.broadcast();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  const seconds = (performance.now() - start) / 1000;
  child.kill();
  await server.close();
  return expected / seconds;
}

console.log(
  `fanout: ${ROUNDS} pushes of 100 bytes to each of ${RECEIVERS} sessions, node ${process.version}\n`,
);
const rates = new Map<Variant, number>();
for (const variant of variants) rates.set(variant, await measure(variant));
console.log("| server | deliveries/s |\n| --- | ---: |");
for (const [variant, rate] of rates)
  console.log(`| ${variant} | ${Math.round(rate).toLocaleString("en-US")} |`);
const base = rates.get("socket.io") as number;
console.log(`\ntether-ws / socket.io broadcast: ${((rates.get("tether-ws") as number) / base).toFixed(2)}x`);
console.log(`tether-tcp / socket.io broadcast: ${((rates.get("tether-tcp") as number) / base).toFixed(2)}x`);
process.exit(0);
