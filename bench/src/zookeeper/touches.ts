/**
 * bench/zookeeper-touches: random touches over SESSIONS sessions, Tether's `SessionTracker`
 * and `ExpiryQueue` against ZooKeeper 3.8's own Java classes (`SessionTrackerImpl`,
 * `ExpiryQueue`) in the same run, in the same random order, on the real clock (each touch
 * reads the time, as ZooKeeper's do). Median ns per touch over PASSES passes after a warm-up
 * pass; heap per session after full collections.
 *
 * Needs a JDK and ZooKeeper's jars: on Debian, `apt-get install default-jdk-headless
 * libzookeeper-java` (the jars land in /usr/share/java; ZOOKEEPER_JARS overrides).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ExpiryQueue, SessionTracker, type TrackedSession } from "@tether/core";
import { seededRandom } from "../../../test/support/prng.js";
import { collectGarbage, fmt, median, nsPerOp, retainedHeap } from "../stats.js";

const SESSIONS = Number(process.env.SESSIONS ?? 1_000_000);
const PASSES = Number(process.env.PASSES ?? 7);
const TICK = 2000;
const TIMEOUT = 30_000;
const JARS = (
  process.env.ZOOKEEPER_JARS ??
  ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-nop.jar"]
    .map((jar) => `/usr/share/java/${jar}`)
    .join(":")
).split(":");

interface ZooKeeperFigures {
  java: string;
  trackerTouchNs: number;
  trackerBytesPerSession: number;
  queueUpdateNs: number;
  queueBytesPerSession: number;
}

/** A random permutation of the session indexes, the same every run. */
function randomOrder(n: number): Int32Array {
  const random = seededRandom(20261201);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
  return order;
}

function zooKeeper(order: Int32Array): ZooKeeperFigures {
  const work = mkdtempSync(join(tmpdir(), "tether-zookeeper-"));
  try {
    const source = fileURLToPath(new URL("./ZooKeeperTouches.java", import.meta.url));
    const classpath = JARS.join(":");
    execFileSync("javac", ["-nowarn", "-cp", classpath, "-d", work, source]);
    const orderFile = join(work, "order.bin");
    writeFileSync(orderFile, new Uint8Array(order.buffer));
    const args = [orderFile, SESSIONS, PASSES, TICK, TIMEOUT].map(String);
    const output = execFileSync("java", ["-cp", `${work}:${classpath}`, "ZooKeeperTouches", ...args]);
    return JSON.parse(output.toString()) as ZooKeeperFigures;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Median ns per touch of `touch(i)` over the permutation, after one warm-up pass. */
function touches(order: Int32Array, touch: (index: number) => void): number {
  const passes: number[] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    passes.push(
      nsPerOp(order.length, () => {
        for (let i = 0; i < order.length; i++) touch(order[i] as number);
      }),
    );
  }
  return median(passes.slice(1));
}

function tether(order: Int32Array) {
  const { bytes: trackerBytes, keep: state } = retainedHeap(() => {
    const tracker = new SessionTracker({ tickTime: TICK, maxSessionTimeout: TIMEOUT });
    const tracked: TrackedSession[] = [];
    for (let i = 0; i < SESSIONS; i++) tracked.push(tracker.createSession(TIMEOUT));
    return { tracker, tracked };
  });
  const { tracker, tracked } = state;
  const ids = tracked.map((session) => session.id);
  // The server's touch: its connection holds the session. ZooKeeper's holds the id.
  const byObject = touches(order, (i) => tracker.touchSession(tracked[i] as TrackedSession));
  const byId = touches(order, (i) => tracker.touchSession(ids[i] as string));
  tracker.shutdown();
  collectGarbage();

  const elements = Array.from({ length: SESSIONS }, (_, id) => ({ id }));
  const { bytes: queueBytes, keep: queue } = retainedHeap(() => {
    const q = new ExpiryQueue<{ id: number }>(TICK);
    for (const element of elements) q.update(element, TIMEOUT);
    return q;
  });
  const update = touches(order, (i) => queue.update(elements[i] as { id: number }, TIMEOUT));
  return {
    byObject,
    byId,
    trackerBytes: trackerBytes / SESSIONS,
    update,
    queueBytes: queueBytes / SESSIONS,
  };
}

/** Whether `command -version` runs. */
function runs(command: string): boolean {
  try {
    execFileSync(command, ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const missing = [...JARS.filter((jar) => !existsSync(jar)), ...["javac", "java"].filter((c) => !runs(c))];
if (missing.length > 0) {
  // Part of `bench`, which goes on: say what to install instead of failing the run.
  console.log(
    `zookeeper-touches: skipped, missing ${missing.join(", ")} (see bench/src/zookeeper/touches.ts)`,
  );
  process.exit(0);
}
const order = randomOrder(SESSIONS);
const zk = zooKeeper(order);
const ours = tether(order);
console.log(
  `zookeeper-touches: ${SESSIONS} sessions, random order, ${PASSES} passes (median after the first), ` +
    `node ${process.version}, java ${zk.java}, ZooKeeper 3.8\n`,
);
console.log("| structure | ns per touch | heap bytes per session |");
console.log("| --- | ---: | ---: |");
console.log(
  `| ZooKeeper SessionTrackerImpl.touchSession(id) | ${fmt(zk.trackerTouchNs)} | ${fmt(zk.trackerBytesPerSession, 0)} |`,
);
console.log(
  `| tether SessionTracker.touchSession(session) | ${fmt(ours.byObject)} | ${fmt(ours.trackerBytes, 0)} |`,
);
console.log(`| tether SessionTracker.touchSession(id) | ${fmt(ours.byId)} | (same) |`);
console.log(
  `| ZooKeeper ExpiryQueue.update | ${fmt(zk.queueUpdateNs)} | ${fmt(zk.queueBytesPerSession, 0)} |`,
);
console.log(`| tether ExpiryQueue.update | ${fmt(ours.update)} | ${fmt(ours.queueBytes, 0)} |`);
const rate = (theirs: number, mine: number) => theirs / mine;
const tracked = rate(zk.trackerTouchNs, ours.byObject);
const queued = rate(zk.queueUpdateNs, ours.update);
console.log(
  `\nSessionTracker: ${fmt(tracked, 2)}x ZooKeeper's touch rate by session, ${fmt(rate(zk.trackerTouchNs, ours.byId), 2)}x by id ` +
    `(goal >= 6x: ${tracked >= 6 ? "met" : "MISSED"}); ${fmt(ours.trackerBytes, 0)} B per session ` +
    `(goal <= 200: ${ours.trackerBytes <= 200 ? "met" : "MISSED"})`,
);
console.log(
  `ExpiryQueue.update: ${fmt(queued, 2)}x ZooKeeper's (goal >= 2x: ${queued >= 2 ? "met" : "MISSED"})`,
);
