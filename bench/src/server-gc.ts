/**
 * bench/server-gc: what the server path costs the garbage collector with large bodies, without
 * sockets. Requests arrive as fresh buffers, four 16 KiB frames per read, as socket reads hand
 * them up, four reads to a turn of the event loop (a poll phase hands up every ready socket's
 * read; timers and `setImmediate` run between turns); the answers are dropped. Three paths, each in a process of its own (V8's heuristics
 * are per process): `raw` unpacks and packs `[id, body]` (raw net's echo), `pipeline` runs the
 * codec and an echo handler in a Tether pipeline (no sessions), `tether` a whole server
 * (sessions: each answer kept until the client's acknowledgement 64 requests later).
 * Reported per path: CPU µs per request (every thread, GC helpers included), scavenges and
 * mark-compacts.
 */
import { execFileSync } from "node:child_process";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Channel, createServer, MessagePackCodec, MessageType, PROTOCOL_VERSION } from "@tether/core";
import { Packr } from "msgpackr";
import { BenchConnection } from "./bench-connection.js";
import { fmt } from "./stats.js";

const BODY = Number(process.env.BODY ?? 16 * 1024);
const REQUESTS = Number(process.env.REQUESTS ?? 100_000);
const PER_READ = 4;
const READS_PER_TURN = Number(process.env.READS_PER_TURN ?? 4);
type Path = "raw" | "pipeline" | "tether";
const PATHS: Path[] = ["raw", "pipeline", "tether"];

async function run(path: Path): Promise<void> {
  const packr = new Packr({ useRecords: false });
  const body = new Uint8Array(BODY).fill(7);
  const request = (seq: number) =>
    path === "raw"
      ? packr.pack([seq, body])
      : packr.pack([MessageType.Request, seq, "echo", body, 0, Math.max(1, seq - 64)]);
  /** One read: fresh buffers, as a socket hands them up. */
  const read = (first: number) => Array.from({ length: PER_READ }, (_, k) => Buffer.from(request(first + k)));
  let handle: (frames: Buffer[]) => void;
  if (path === "raw") {
    handle = (frames) => {
      for (const frame of frames) {
        const [id, value] = packr.unpack(frame) as [number, unknown];
        packr.pack([id, value]);
      }
    };
  } else {
    const connection = new BenchConnection();
    if (path === "pipeline") {
      const channel = new Channel(connection);
      channel.pipeline.addLast("codec", new MessagePackCodec()).addLast("echo", {
        channelRead: (ctx, value) => {
          const message = value as unknown[];
          ctx.write([MessageType.Response, message[1], message[3]]);
        },
      });
      channel.start();
    } else {
      const server = createServer({ maxConnectionsPerAddress: 0, maxInFlightPerConnection: 1 << 20 });
      server.handle("echo", (value) => value);
      server.accept(connection);
      connection.deliver(packr.pack([MessageType.Hello, PROTOCOL_VERSION, 30_000, null, null, 0, null]));
      await new Promise((resolve) => setImmediate(resolve)); // the Welcome
    }
    handle = (frames) => connection.deliver(...frames);
  }
  const counts = { scavenges: 0, markCompacts: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.scavenges++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.markCompacts++;
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const start = process.cpuUsage();
  for (let seq = 1, reads = 1; seq <= REQUESTS; seq += PER_READ, reads++) {
    handle(read(seq));
    await Promise.resolve(); // a read ends at a microtask checkpoint
    if (reads % READS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const used = process.cpuUsage(start);
  await new Promise((resolve) => setTimeout(resolve, 20)); // GC entries arrive asynchronously
  observer.disconnect();
  process.stdout.write(JSON.stringify({ cpu: (used.user + used.system) / REQUESTS, ...counts }));
}

const path = process.argv[2] as Path | undefined;
if (path !== undefined) await run(path);
else {
  console.log(
    `server-gc: ${REQUESTS} requests of ${BODY} B, ${PER_READ} per read, ${READS_PER_TURN} reads per turn, each path in its own process`,
  );
  console.log("| path | CPU µs/request | scavenges | mark-compacts |\n| --- | ---: | ---: | ---: |");
  for (const p of PATHS) {
    const out = execFileSync(
      process.execPath,
      ["--conditions=tether-source", "--import", "tsx", fileURLToPath(import.meta.url), p],
      { encoding: "utf8" },
    );
    const r = JSON.parse(out) as { cpu: number; scavenges: number; markCompacts: number };
    console.log(`| ${p} | ${fmt(r.cpu, 2)} | ${r.scavenges} | ${r.markCompacts} |`);
  }
}
