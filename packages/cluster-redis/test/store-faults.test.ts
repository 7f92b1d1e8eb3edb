import type { SharedSessionStore } from "@tether/core";
import { describe, expect, it } from "vitest";
import { redisForTests } from "../../../test/support/redis-for-tests.js";
import {
  type Cluster,
  carrier,
  clusterHarness,
  connected,
  connectedClient,
  T,
  TICK,
} from "./cluster-harness.js";

// Cluster mode when the store misbehaves: replies that never come (a command timeout),
// resumes that overtake each other, a server restarted under the id of one that died. Each
// runs on Redis, on a Redis Cluster and on the in-process backend, through the fault wrapper.

const harnesses = {
  redis: clusterHarness(redisForTests()),
  "redis-cluster": clusterHarness(redisForTests("redis-cluster")),
};

const storeOf = (cluster: Cluster, i: number) => cluster.servers[i]?.store as SharedSessionStore;
const faultsOf = (cluster: Cluster, i: number) => {
  const faults = cluster.faults[i];
  if (faults === undefined) throw new Error(`server ${i} has no fault wrapper`);
  return faults;
};

/** When a session opened now, and silent since, is first claimed: a tick after its deadline bucket. */
function claimTime(cluster: Cluster): number {
  return (Math.floor((cluster.clock.now() + T) / TICK) + 2) * TICK;
}

/** Runs the clock until `settled` reports true, or `ms` have passed. */
async function until(cluster: Cluster, settled: () => boolean, ms: number): Promise<void> {
  for (let t = 0; t < ms && !settled(); t += 10) await cluster.run(10);
}

describe.each([
  ["memory-faulty", "redis"],
  ["redis-faulty", "redis"],
  ["redis-faulty", "redis-cluster"],
] as const)("cluster mode under store faults (%s on %s)", (backend, redis) => {
  const { startCluster } = harnesses[redis];
  it("an admission whose answer is lost still gives its request one outcome: it runs once, where the client went", async () => {
    const cluster = await startCluster(2, { backend });
    let runs = 0;
    for (const server of cluster.servers) server.handle("count", () => ++runs);
    const { client } = await connectedClient(cluster, 0);
    // The admission runs in the backend (s0 becomes the runner), but s0 never hears so: as
    // with a command timeout, s0 gives the connection up (4007) without running it.
    faultsOf(cluster, 0).loseNextReply("admit");
    let outcome: unknown;
    client.request("count").then(
      (value) => {
        outcome = value;
      },
      (error: unknown) => {
        outcome = error;
      },
    );
    await cluster.run(20);
    // The client cannot come back to s0: it resumes on s1 and sends the request again there.
    cluster.network.partition("s0");
    for (const link of cluster.network.links("s0")) link.reset();
    await until(cluster, () => client.state !== "connected", T);
    await connected(cluster, client);
    expect(carrier(cluster, client)).toBe(1);
    await until(cluster, () => outcome !== undefined, 4 * T);
    expect(outcome).toBe(1);
    expect(runs).toBe(1);
    expect(cluster.expired.flat()).toEqual([]);
  });

  it("a resume overtaken by a later resume elsewhere hands back no session its server no longer carries", async () => {
    const cluster = await startCluster(2, { backend });
    const s0 = storeOf(cluster, 0);
    const s1 = storeOf(cluster, 1);
    const session = await s0.open(T, null);
    const password = session.tracked.password;
    // s1's resume runs first but its answer is slow; s0's runs second, and tells s1 "moved"
    // while s1 is still inside its resume.
    faultsOf(cluster, 0).hold("calls");
    faultsOf(cluster, 1).hold("replies");
    const late = s0.resume(session.id, password);
    const overtaken = s1.resume(session.id, password).then(
      (resumed) => ({ resumed }),
      (error: unknown) => ({ error }),
    );
    await cluster.run(20);
    faultsOf(cluster, 0).releaseHeld();
    // s0's "moved" reaches s1 (on a Redis Cluster, over the cluster bus) before s1's reply.
    await until(cluster, () => faultsOf(cluster, 1).heard.includes("moved"), 500);
    expect(faultsOf(cluster, 1).heard).toContain("moved");
    faultsOf(cluster, 1).releaseHeld();
    const first = await overtaken;
    expect("error" in first && (first.error as Error).name).toBe("SessionMovedError");
    expect(s1.get(session.id)).toBeUndefined();
    const resumed = await late;
    expect(resumed?.id).toBe(session.id);
    expect(s0.get(session.id)).toBe(resumed);
  });

  it("a client whose resume was overtaken is sent on (4006) and ends up served: pushes reach it", async () => {
    const cluster = await startCluster(2, { backend });
    const { client, id, pushes } = await connectedClient(cluster, 0);
    // Its connection drops. Its resume on the first server it tries (x) is slow to run, so it
    // gives up and tries the other (y), whose answer is slow; then x's resume runs too, after y's.
    for (const faults of cluster.faults) faults.hold("calls");
    for (const link of cluster.network.links("s0")) link.reset();
    await until(cluster, () => cluster.faults.some((faults) => faults.heldCount("resume") > 0), 2 * T);
    const x = cluster.faults.findIndex((faults) => faults.heldCount("resume") > 0);
    const [fx, fy] = [faultsOf(cluster, x), faultsOf(cluster, 1 - x)];
    fy.releaseHeld();
    fy.hold("replies");
    await until(cluster, () => fy.heldCount("resume") > 0, 2 * T);
    expect(fx.heldCount("resume")).toBe(1);
    fx.releaseHeld();
    await cluster.run(20);
    fy.releaseHeld();
    await cluster.run(50);
    await connected(cluster, client);
    await until(cluster, () => carrier(cluster, client) !== -1, T);
    await cluster.servers[x]?.push(id, "news", "after the race");
    await until(cluster, () => pushes.length > 0, T);
    expect(client.sessionId).toBe(id);
    expect(pushes).toEqual(["after the race"]);
    expect(cluster.expired.flat()).toEqual([]);
  });

  it("a server restarted under the id of one that died does not inherit its running requests", async () => {
    const cluster = await startCluster(2, { backend });
    let runs = 0;
    cluster.servers[0]?.handle("slow", () => {
      runs++;
      return new Promise(() => {}); // s0 dies before it answers
    });
    cluster.servers[1]?.handle("slow", () => ++runs);
    const { client } = await connectedClient(cluster, 0);
    let outcome: unknown;
    client.request("slow").then(
      (value) => {
        outcome = value;
      },
      (error: unknown) => {
        outcome = (error as { code?: string }).code ?? (error as Error).name;
      },
    );
    await cluster.run(20);
    expect(runs).toBe(1);
    // s0 dies: it is cut off from its clients (whose connections drop at once, so the session
    // is resumed well inside T) and from the backend, and never says goodbye.
    cluster.network.partition("s0");
    for (const link of cluster.network.links("s0")) link.reset();
    faultsOf(cluster, 0).failNext("flushDeadlines", 1_000_000);
    await cluster.run(4 * TICK); // its liveness lapses
    // A new process comes up as "s0".
    const restarted = await cluster.addServer("s0-again", { serverId: "s0" });
    restarted.handle("slow", () => ++runs);
    await until(cluster, () => outcome !== undefined, 4 * T);
    expect(outcome).toBe("server-lost");
    expect(runs).toBe(1);
  });

  it("an expiry whose claim reply was lost still fires once, when the claim's lease runs out", async () => {
    const cluster = await startCluster(1, { backend });
    const due = claimTime(cluster);
    const session = await storeOf(cluster, 0).open(T, null);
    // The claim runs in the backend; the server never hears of it.
    await cluster.run(due - TICK / 2 - cluster.clock.now());
    faultsOf(cluster, 0).loseNextReply("claimDue");
    await cluster.run(TICK + 3 * TICK + 2 * TICK);
    expect(faultsOf(cluster, 0).lost.get("claimDue")).toBe(1);
    expect(cluster.expired.flat().map(([id, reason]) => [id, reason])).toEqual([[session.id, "expired"]]);
    await cluster.run(4 * TICK);
    expect(cluster.expired.flat()).toHaveLength(1);
  });

  it("an expiry claimed by a server that dies before its listeners run fires once, on another server", async () => {
    const cluster = await startCluster(2, { backend });
    const due = claimTime(cluster);
    const session = await storeOf(cluster, 0).open(T, null);
    // s1 cannot claim for a while; s0 claims, and dies before it hears back.
    faultsOf(cluster, 1).failNext("claimDue", 1_000_000);
    await cluster.run(due - TICK / 2 - cluster.clock.now());
    faultsOf(cluster, 0).loseNextReply("claimDue");
    await until(cluster, () => (faultsOf(cluster, 0).lost.get("claimDue") ?? 0) > 0, 2 * T);
    for (const method of ["flushDeadlines", "claimDue", "claim", "release"] as const)
      faultsOf(cluster, 0).failNext(method, 1_000_000);
    faultsOf(cluster, 1).heal();
    await cluster.run(12 * TICK);
    expect(cluster.expired[0]).toEqual([]);
    expect(cluster.expired[1]?.map(([id, reason]) => [id, reason])).toEqual([[session.id, "expired"]]);
    await cluster.run(4 * TICK);
    expect(cluster.expired.flat()).toHaveLength(1);
  });

  it("session.data moves with the session: there on the server it resumes on, and in expire listeners", async () => {
    const cluster = await startCluster(2, { backend });
    const seen: unknown[] = [];
    for (const server of cluster.servers) {
      server.handle("remember", (body, { session }) => {
        session.data.note = body;
        return "kept";
      });
      server.handle("recall", (_body, { session }) => session.data.note ?? null);
      server.on("expire", (session) => seen.push(session.data.note));
    }
    const { client } = await connectedClient(cluster, 0);
    await expect(client.request("remember", { text: "hi" })).resolves.toBe("kept");
    await cluster.run(2 * TICK); // written with a tick's batch
    cluster.network.partition("s0");
    for (const link of cluster.network.links("s0")) link.reset();
    await until(cluster, () => client.state !== "connected", T);
    await connected(cluster, client);
    await cluster.run(50);
    expect(carrier(cluster, client)).toBe(1);
    await expect(client.request("recall")).resolves.toEqual({ text: "hi" });
    // Its client gone too, the session expires on whichever server claims it: data and all.
    cluster.network.partition("s1");
    await until(cluster, () => seen.length > 0, 3 * T);
    expect(seen).toEqual([{ text: "hi" }]);
  });

  it("a session whose data outgrows maxSessionDataBytes ends with buffer-overflow, once", async () => {
    const cluster = await startCluster(2, { backend, maxSessionDataBytes: 1000 });
    for (const server of cluster.servers) {
      server.handle("hoard", (body, { session }) => {
        session.data.blob = body;
        return "kept";
      });
    }
    const { client, id } = await connectedClient(cluster, 0);
    await expect(client.request("hoard", "x".repeat(900))).resolves.toBe("kept");
    await cluster.run(2 * TICK);
    expect(cluster.expired.flat()).toEqual([]);
    await expect(client.request("hoard", "x".repeat(1100))).resolves.toBe("kept");
    await until(cluster, () => cluster.expired.flat().length > 0, 3 * TICK);
    expect(cluster.expired.flat().map(([sid, reason]) => [sid, reason])).toEqual([[id, "buffer-overflow"]]);
  });

  it("a client whose resumes meet a store that cannot answer (4007) keeps its session past 4T/3", async () => {
    const cluster = await startCluster(2, { backend });
    const { client, id } = await connectedClient(cluster, 0);
    // The store is out of reach for every server; the client's connection drops.
    for (const faults of cluster.faults) faults.cutOff();
    for (const link of cluster.network.links("s0")) link.reset();
    const states: string[] = [];
    client.on("state", (state) => states.push(state));
    await cluster.run(2 * T); // longer than the client's own expiry, 4T/3
    expect(states).not.toContain("expired");
    expect(cluster.expired.flat()).toEqual([]);
    // The store is back: the client resumes the same session.
    for (const faults of cluster.faults) faults.heal();
    await connected(cluster, client);
    expect(client.sessionId).toBe(id);
  });
});
