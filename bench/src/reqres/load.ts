/** Closed-loop load: each client keeps `inflight` requests outstanding and times every one. */
import * as net from "node:net";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { createClient, LengthPrefixDecoder, type TetherClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { Packr } from "msgpackr";
import { io, type Socket } from "socket.io-client";
import { WebSocket } from "ws";
import type { Variant } from "./variants.js";

const packr = new Packr({ useRecords: false });

export interface LoadOptions {
  clients: number;
  inflight: number;
  body: Uint8Array;
  warmupMs: number;
  measureMs: number;
  /** The server process's CPU time so far, in µs. */
  serverCpu: () => Promise<number>;
}

export interface LoadResult {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU time per request in µs over the measured window: the server's, and this process's. */
  serverCpuPerRequest: number;
  loadCpuPerRequest: number;
  /** This process's collections per 1,000 requests over the measured window. */
  loadScavengesPerThousand: number;
  loadMarkCompactsPerThousand: number;
}

/** Collections of this process so far (a load generator's GC is much of its cost at 16 KiB). */
const collections = { scavenges: 0, markCompacts: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) collections.scavenges++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) collections.markCompacts++;
  }
}).observe({ entryTypes: ["gc"] });

/** A connection able to send one request and call back when its answer arrives. */
interface Requester {
  send(done: () => void): void;
  close(): Promise<void> | void;
}

async function connect(variant: Variant, address: string, body: Uint8Array): Promise<Requester> {
  switch (variant) {
    case "raw-net": {
      const [host, port] = address.split(":") as [string, string];
      const socket = net.connect(Number(port), host);
      socket.setNoDelay(true);
      await new Promise((resolve) => socket.once("connect", resolve));
      const waiting = new Map<number, () => void>();
      let next = 0;
      const decoder = new LengthPrefixDecoder(16 * 1024 * 1024);
      socket.on("data", (chunk) =>
        decoder.push(chunk, (frame) => {
          const [id] = packr.unpack(frame) as [number];
          const done = waiting.get(id);
          waiting.delete(id);
          done?.();
        }),
      );
      let corked = false;
      return {
        send(done) {
          const id = next++;
          waiting.set(id, done);
          const frame = packr.pack([id, body]);
          const header = Buffer.allocUnsafe(4);
          header.writeUInt32BE(frame.byteLength);
          if (!corked) {
            corked = true;
            socket.cork();
            process.nextTick(() => {
              corked = false;
              socket.uncork();
            });
          }
          socket.write(header);
          socket.write(frame);
        },
        close: () => void socket.destroy(),
      };
    }
    case "raw-ws": {
      const ws = new WebSocket(address, { perMessageDeflate: false });
      await new Promise((resolve) => ws.once("open", resolve));
      const waiting = new Map<number, () => void>();
      let next = 0;
      ws.on("message", (data) => {
        const [id] = packr.unpack(data as Buffer) as [number];
        const done = waiting.get(id);
        waiting.delete(id);
        done?.();
      });
      return {
        send(done) {
          const id = next++;
          waiting.set(id, done);
          ws.send(packr.pack([id, body]));
        },
        close: () => ws.terminate(),
      };
    }
    case "socket.io": {
      const socket: Socket = io(address, { transports: ["websocket"], forceNew: true });
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      return {
        send(done) {
          void socket.emitWithAck("echo", body).then(done);
        },
        close: () => void socket.close(),
      };
    }
    case "tether-tcp":
    case "tether-tcp-redis":
    case "tether-tcp-redis-reads":
    case "tether-ws": {
      const client: TetherClient = createClient({
        servers: [{ transport: variant === "tether-ws" ? webSocket() : tcp(), address }],
        timeout: 30_000,
      });
      await client.connected();
      return {
        send(done) {
          void client.request("echo", body).then(done);
        },
        close: () => client.close(),
      };
    }
  }
}

export async function runLoad(variant: Variant, address: string, options: LoadOptions): Promise<LoadResult> {
  const requesters = await Promise.all(
    Array.from({ length: options.clients }, () => connect(variant, address, options.body)),
  );
  let measuring = false;
  let stopped = false;
  const latencies: number[] = [];
  const loop = (requester: Requester) => {
    const started = performance.now();
    requester.send(() => {
      if (measuring) latencies.push(performance.now() - started);
      if (!stopped) loop(requester);
    });
  };
  for (const requester of requesters) for (let i = 0; i < options.inflight; i++) loop(requester);
  await new Promise((resolve) => setTimeout(resolve, options.warmupMs));
  measuring = true;
  const start = performance.now();
  const loadCpuStart = process.cpuUsage();
  const collectionsStart = { ...collections };
  const serverCpuStart = await options.serverCpu();
  await new Promise((resolve) => setTimeout(resolve, options.measureMs));
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  const serverCpu = (await options.serverCpu()) - serverCpuStart;
  const loadCpu = process.cpuUsage(loadCpuStart);
  // Observers hear of collections a little later: let the window's last ones arrive.
  await new Promise((resolve) => setImmediate(resolve));
  const scavenges = collections.scavenges - collectionsStart.scavenges;
  const markCompacts = collections.markCompacts - collectionsStart.markCompacts;
  stopped = true;
  await new Promise((resolve) => setTimeout(resolve, 200));
  await Promise.all(requesters.map((r) => r.close()));
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  const requests = latencies.length;
  return {
    requests,
    perSecond: requests / seconds,
    p50: at(0.5),
    p99: at(0.99),
    serverCpuPerRequest: serverCpu / requests,
    loadCpuPerRequest: (loadCpu.user + loadCpu.system) / requests,
    loadScavengesPerThousand: (1000 * scavenges) / requests,
    loadMarkCompactsPerThousand: (1000 * markCompacts) / requests,
  };
}
