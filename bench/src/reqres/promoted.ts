/**
 * bench/reqres-promoted: what the load generator allocates that outlives the young generation,
 * by allocation site, per request. V8's sampling heap profiler is told to keep the samples that
 * only a mark-compact collected (and drop those a scavenge collected): what is left is what was
 * promoted, the garbage that costs mark-compacts, plus what is still alive at the end. Each
 * variant in `VARIANTS` runs against its echo server (in a process of its own) with `CLIENTS`
 * clients, 64 requests in flight each, `BODY`-byte bodies; sampling starts after the warm-up.
 */
import { Session } from "node:inspector/promises";
import { fmt } from "../stats.js";
import { runLoad } from "./load.js";
import { startServerProcess } from "./server-process.js";
import type { Variant } from "./variants.js";

const VARIANTS = (process.env.VARIANTS ?? "raw-net,tether-tcp").split(",") as Variant[];
const CLIENTS = Number(process.env.CLIENTS ?? 16);
const BODY = Number(process.env.BODY ?? 16 * 1024);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1000);
const MEASURE_MS = Number(process.env.MEASURE_MS ?? 2500);
const SITES = Number(process.env.SITES ?? 12);
/** Bytes between samples: small enough that 1 KiB per request is seen hundreds of times. */
const SAMPLING_INTERVAL = 1024;

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Sampled bytes by allocation site, named by its innermost three frames. */
function bySite(head: ProfileNode): Map<string, number> {
  const sites = new Map<string, number>();
  const walk = (node: ProfileNode, callers: string[]) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const frame = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
    const stack = [frame, ...callers];
    if (node.selfSize > 0) {
      const site = stack.slice(0, 3).join(" < ");
      sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, stack);
  };
  walk(head, []);
  return sites;
}

async function measure(variant: Variant, session: Session): Promise<void> {
  const server = await startServerProcess(variant);
  try {
    const sampling = new Promise<void>((resolve) =>
      setTimeout(() => {
        void session
          .post("HeapProfiler.startSampling", {
            samplingInterval: SAMPLING_INTERVAL,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: false,
          })
          .then(() => resolve());
      }, WARMUP_MS),
    );
    const result = await runLoad(variant, server.address, {
      clients: CLIENTS,
      inflight: 64,
      body: new Uint8Array(BODY).fill(7),
      warmupMs: WARMUP_MS,
      measureMs: MEASURE_MS,
      serverCpu: server.cpu,
    });
    await sampling;
    const { profile } = (await session.post("HeapProfiler.stopSampling")) as {
      profile: { head: ProfileNode };
    };
    const sites = bySite(profile.head);
    const total = [...sites.values()].reduce((a, b) => a + b, 0);
    // Sampling ran from the warm-up's end to the load's end: about the measured window.
    console.log(
      `\n${variant}: ${fmt(result.requests, 0)} requests measured, ${fmt(total / result.requests, 0)} B promoted per request`,
    );
    console.log("| B per request | allocated at (innermost first) |\n| ---: | --- |");
    for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, SITES)) {
      console.log(`| ${fmt(bytes / result.requests, 1)} | ${site} |`);
    }
  } finally {
    await server.stop();
  }
}

console.log(
  `reqres-promoted: ${CLIENTS} clients x 64 in flight, ${BODY} B bodies; the load generator's allocations that a scavenge did not collect`,
);
const session = new Session();
session.connect();
await session.post("HeapProfiler.enable");
for (const variant of VARIANTS) await measure(variant, session);
session.disconnect();
