import type { RedisSessionStore } from "@tether/cluster-redis";
import { ConfigurationError, createServer, MemorySessionStore, MessageType } from "@tether/core";
import { describe, expect, it } from "vitest";
import { RawSession } from "../../../test/support/raw-session.js";
import { redisForTests } from "../../../test/support/redis-for-tests.js";
import { carrier, clusterHarness, connected, connectedClient, T, TICK } from "./cluster-harness.js";

/**
 * The cluster suite: several servers sharing sessions, on one redis-server or on a Redis
 * Cluster of three masters (each test file runs it on one).
 */
export function describeClusterSuite(kind: "redis" | "redis-cluster"): void {
  const env = redisForTests(kind);
  const { startCluster } = clusterHarness(env);

  describe(kind === "redis" ? "cluster mode on Redis" : "cluster mode on a Redis Cluster", () => {
    it("leaves the in-process store the default, and server.tracker where it was", async () => {
      const server = createServer();
      expect(server.store).toBeInstanceOf(MemorySessionStore);
      expect(server.tracker).toBe((server.store as MemorySessionStore).tracker);
      void server.close();
      const cluster = await startCluster(1);
      expect(() => cluster.servers[0]?.tracker).toThrow(ConfigurationError);
    });

    it("resumes a session on another server after its server goes away, with pushes and answers kept", async () => {
      const cluster = await startCluster(2);
      const { client, id, pushes } = await connectedClient(cluster, 0);
      expect(carrier(cluster, client)).toBe(0);

      // A slow request is running on s0 when s0 leaves; pushes keep coming from s1.
      let finish: (value: unknown) => void = () => {};
      let runs = 0;
      cluster.servers[0]?.handle("slow", () => {
        runs++;
        return new Promise((resolve) => {
          finish = resolve;
        });
      });
      cluster.servers[1]?.handle("slow", () => {
        runs++;
        return "ran on s1";
      });
      const slow = client.request("slow");
      await cluster.run(50);
      expect(runs).toBe(1);
      await cluster.servers[1]?.push(id, "news", 1);
      await cluster.run(20);
      expect(pushes).toEqual([1]);

      // s0 says goodbye (4007) but keeps running the request; the client resumes on s1.
      cluster.network.partition("s0");
      for (const link of cluster.network.links("s0")) link.reset();
      await cluster.servers[1]?.push(id, "news", 2);
      await connected(cluster, client);
      await cluster.run(50);
      expect(carrier(cluster, client)).toBe(1);
      expect(client.sessionId).toBe(id);
      expect(pushes).toEqual([1, 2]);

      // The re-sent request is not run again on s1: s0's answer reaches the client through Redis.
      finish("ran on s0");
      await cluster.run(50);
      await expect(slow).resolves.toBe("ran on s0");
      expect(runs).toBe(1);
      expect(cluster.expired.flat()).toEqual([]);
    });

    it("moves a server's clients to the others when it closes (a rolling restart), principal and all", async () => {
      const cluster = await startCluster(2, { authenticate: () => ({ user: "ann" }) });
      const { client, id } = await connectedClient(cluster, 0);
      expect(cluster.servers[0]?.getSession(id)?.principal).toEqual({ user: "ann" });
      const states: string[] = [];
      client.on("state", (state) => states.push(state));
      const closing = cluster.servers[0]?.close() as Promise<void>;
      for (let i = 0; i < 200 && states.at(-1) !== "connected"; i++) await cluster.run(10);
      await closing;
      expect(states).toEqual(["disconnected", "connected"]);
      expect(client.sessionId).toBe(id);
      expect(carrier(cluster, client)).toBe(1);
      expect(cluster.servers[1]?.getSession(id)?.principal).toEqual({ user: "ann" });
      // dump() lists this server's sessions by deadline bucket; clusterDump() the cluster's,
      // marking those carried here.
      expect(cluster.servers[1]?.dump()).toContain(`\t${id} timeout=${T}`);
      expect(cluster.servers[0]?.dump()).not.toContain(id);
      const store = cluster.servers[1]?.store as RedisSessionStore;
      expect(await store.clusterDump()).toContain(`\t${id} (here)`);
      await expect(client.request("echo", "still here")).resolves.toBe("still here");
      expect(cluster.expired.flat()).toEqual([]);
    });

    it("delivers pushes from every server in one order, each once", async () => {
      const cluster = await startCluster(3);
      const { id, pushes } = await connectedClient(cluster, 1);
      const sent = [];
      for (let i = 0; i < 30; i++) sent.push(cluster.servers[i % 3]?.push(id, "n", i));
      await Promise.all(sent);
      await cluster.run(50);
      expect(pushes).toHaveLength(30);
      expect(new Set(pushes).size).toBe(30);
      // Redis numbers them as it receives them: each server's own pushes keep their order.
      for (const k of [0, 1, 2]) {
        const fromK = pushes.filter((n) => (n as number) % 3 === k) as number[];
        expect(fromK).toEqual([...fromK].sort((a, b) => a - b));
      }
    });

    it("re-reads pushes published while a server's subscription was down", async () => {
      const cluster = await startCluster(2);
      const { id, pushes } = await connectedClient(cluster, 0);
      await cluster.servers[1]?.push(id, "n", 0);
      await cluster.run(20);
      // Every subscriber connection is dropped; pushes meanwhile are published to nobody.
      await env.onEveryMaster((master) => master.client("KILL", "TYPE", "pubsub"));
      for (let i = 1; i <= 3; i++) await cluster.servers[1]?.push(id, "n", i);
      for (let i = 0; i < 100 && pushes.length < 4; i++) {
        await cluster.run(10);
        await new Promise((resolve) => setTimeout(resolve, 5)); // ioredis reconnects in real time
      }
      expect(pushes).toEqual([0, 1, 2, 3]);
      // And pushes flow again through the restored subscription.
      await cluster.servers[1]?.push(id, "n", 4);
      await cluster.run(20);
      expect(pushes).toEqual([0, 1, 2, 3, 4]);
    });

    it("lets go of a session ended elsewhere while its server was not listening", async () => {
      const cluster = await startCluster(2, { maxReplay: 2 });
      const { id } = await connectedClient(cluster, 0);
      for (const link of cluster.network.links("s0")) link.blackHole();
      await env.onEveryMaster((master) => master.client("KILL", "TYPE", "pubsub"));
      // s1 overflows the session's replay bound and ends it; its word to s0 is lost.
      for (let i = 0; i < 2; i++) await cluster.servers[1]?.push(id, "n", i);
      await expect(cluster.servers[1]?.push(id, "n", 2)).rejects.toThrow(/unacknowledged pushes/);
      for (let i = 0; i < 100 && cluster.servers[0]?.getSession(id) !== undefined; i++) {
        await cluster.run(10);
        await new Promise((resolve) => setTimeout(resolve, 5)); // ioredis reconnects in real time
      }
      expect(cluster.servers[0]?.getSession(id)).toBeUndefined();
      expect(cluster.expired.flat().map(([sid, reason]) => [sid, reason])).toEqual([[id, "buffer-overflow"]]);
    });

    it("rides out a frozen Redis: no live session expires, and requests made meanwhile complete", async () => {
      const cluster = await startCluster(2);
      const { client, id } = await connectedClient(cluster, 0);
      env.server.pause();
      let answer: unknown;
      try {
        // Twice the session timeout passes with Redis frozen; the client keeps pinging s0.
        void client.request("echo", "made during the outage").then((value) => {
          answer = value;
        });
        for (let t = 0; t < 2 * T; t += 10) await cluster.clock.advanceAsync(10);
      } finally {
        env.server.resume();
      }
      await cluster.run(3 * TICK);
      expect(answer).toBe("made during the outage");
      expect(cluster.expired.flat()).toEqual([]);
      expect(client.state).toBe("connected");
      expect(client.sessionId).toBe(id);
      // And expiry works again: a client cut off from every server now expires.
      for (const address of ["s0", "s1"]) cluster.network.partition(address);
      await cluster.run(T + 3 * TICK);
      expect(cluster.expired.flat().map(([sid]) => sid)).toEqual([id]);
    });

    it("ends its sessions, and answers no request by hanging, when Redis comes back empty", async () => {
      const cluster = await startCluster(2);
      const { client } = await connectedClient(cluster, 0);
      const second = await connectedClient(cluster, 1);
      await env.server.restart(); // no persistence: every session is gone from Redis
      const request = client.request("echo", "after the loss").then(
        () => "answered",
        (error: unknown) => (error as Error).name,
      );
      for (let i = 0; i < 100 && (client.state !== "expired" || second.client.state !== "expired"); i++) {
        await cluster.run(10);
        await new Promise((resolve) => setTimeout(resolve, 5)); // ioredis reconnects in real time
      }
      expect(client.state).toBe("expired");
      expect(second.client.state).toBe("expired");
      await expect(request).resolves.toBe("SessionExpiredError");
      expect(cluster.servers.flatMap((server) => [...server.sessions()])).toEqual([]);
      // And the cluster carries on with new sessions.
      const fresh = await connectedClient(cluster, 1);
      await expect(fresh.client.request("echo", 1)).resolves.toBe(1);
    });

    it("expires each silent session once in the cluster, within (T, T + 2 ticks] of its last frame", async () => {
      const cluster = await startCluster(3);
      const clients = Array.from({ length: 12 }, (_, i) => cluster.client(i % 3));
      for (const client of clients) await connected(cluster, client);
      await cluster.run(300);
      const ids = clients.map((c) => c.sessionId as string);
      // Pull every cable at once: the servers hear nothing more from anyone.
      const cut = cluster.clock.now();
      for (const i of [0, 1, 2]) cluster.network.partition(`s${i}`);
      await cluster.run(T + 3 * TICK);

      const all = cluster.expired.flat();
      expect(all.map(([id]) => id).sort()).toEqual([...ids].sort());
      for (const [, reason, at] of all) {
        expect(reason).toBe("expired");
        // The last frame came at most T/3 (a ping interval) before the cut.
        expect(at - cut).toBeGreaterThan(T - T / 3);
        expect(at - cut).toBeLessThanOrEqual(T + 2 * TICK);
      }
      // Nothing is left in Redis but the servers' liveness keys.
      const keys = (await env.onEveryMaster((master) => master.keys(`${cluster.prefix}*`))).flat();
      expect(keys.filter((k) => !k.includes("srv:"))).toEqual([]);
    });

    it("keeps a session alive through touches written by several servers' batches", async () => {
      const cluster = await startCluster(3);
      const { client } = await connectedClient(cluster, 2);
      // Busy for 5T: every frame goes to s2, whose batches keep the deadline moving in Redis.
      for (let i = 0; i < 50; i++) {
        await client.request("echo", i).then((v) => expect(v).toBe(i));
        await cluster.run(100);
      }
      expect(cluster.expired.flat()).toEqual([]);
      expect(client.state).toBe("connected");
    });

    it("trims answers in Redis as the client acknowledges them, not only once a tick", async () => {
      // 400 requests inside one tick, with room for 32 kept answers: without the early trim,
      // Redis's copy reaches the bound and the session ends with buffer-overflow.
      const cluster = await startCluster(1, { maxResponses: 32 });
      const { client } = await connectedClient(cluster, 0);
      const start = cluster.clock.now();
      for (let round = 0; round < 50; round++) {
        const batch = Promise.all(Array.from({ length: 8 }, (_, i) => client.request("echo", round * 8 + i)));
        let done = false;
        void batch.finally(() => {
          done = true;
        });
        for (let i = 0; i < 20 && !done; i++) await cluster.run(1, 1);
        await expect(batch).resolves.toHaveLength(8);
      }
      expect(cluster.clock.now() - start).toBeLessThan(TICK);
      expect(cluster.expired.flat()).toEqual([]);
      const [, , kept] = cluster.keys.session(client.sessionId as string);
      expect(await env.probe.hlen(kept)).toBeLessThanOrEqual(32);
    });

    it("counts a resume as a frame at once: a session resumed just before its claim is not claimed", async () => {
      const cluster = await startCluster(2);
      const s0 = cluster.servers[0]?.store as RedisSessionStore;
      const s1 = cluster.servers[1]?.store as RedisSessionStore;
      // A session nobody touches: its deadline is the bucket of open + T.
      const session = await s0.open(T, null);
      const opened = cluster.clock.now();
      const deadline = (Math.floor((opened + T) / TICK) + 1) * TICK;
      // Past its deadline, a tick before claims may take it: resumed on s1 (no frame after it).
      await cluster.run(deadline - opened + TICK / 2);
      expect(cluster.expired.flat()).toEqual([]);
      expect(await s1.resume(session.id, session.tracked.password)).toBeDefined();
      await cluster.run(2 * TICK);
      expect(cluster.expired.flat()).toEqual([]);
      // It now counts from the resume: silent since, it expires a timeout later, once.
      await cluster.run(T + TICK);
      expect(cluster.expired.flat().map(([id]) => id)).toEqual([session.id]);
    });

    it("writes a touch that came while the previous batch was on its way to Redis", async () => {
      const cluster = await startCluster(1);
      const store = cluster.servers[0]?.store as RedisSessionStore;
      const session = await store.open(T, null);
      await cluster.run(3 * TICK); // so that the next touch moves the deadline
      const now = cluster.clock.now();
      const boundary = (Math.floor(now / TICK) + 1) * TICK;
      await cluster.run(boundary - now - 5, 5);
      store.touch(session); // 5 ms before the boundary: its deadline is boundary + T
      env.server.pause();
      try {
        // Past the boundary the tick writes that touch, and waits on the frozen Redis; a touch
        // meanwhile falls in the next bucket.
        for (let i = 0; i < 4; i++) await cluster.clock.advanceAsync(5);
        store.touch(session);
      } finally {
        env.server.resume();
      }
      await cluster.run(TICK + 20);
      const expiry = cluster.keys.expiry(cluster.keys.partitionOf(session.id));
      const written = Number(await env.probe.zscore(expiry, session.id));
      expect(written).toBe(boundary + T + TICK);
    });

    it("keeps any acknowledgement a client sends cheap for Redis, however large its numbers", async () => {
      const cluster = await startCluster(1);
      const raw = await RawSession.dial(cluster.network.transport(), "s0");
      raw.hello({ timeout: T });
      await raw.waitFor(
        (m) => m[0] === MessageType.Welcome,
        () => cluster.run(10),
      );
      raw.send([MessageType.Ack, 0, Number.MAX_SAFE_INTEGER]);
      await cluster.run(2 * TICK); // the tick's batch carries the acknowledgement to Redis
      const started = performance.now();
      await env.onEveryMaster((master) => master.ping());
      expect(performance.now() - started).toBeLessThan(100);
      expect(cluster.expired.flat()).toEqual([]);
      raw.connection.abort();
    });

    it("answers a resume with a wrong password or an unknown id as expired", async () => {
      const cluster = await startCluster(2);
      const { client, id } = await connectedClient(cluster, 0);
      const store = cluster.servers[1]?.store as RedisSessionStore;
      expect(await store.resume(client.sessionId as string, new Uint8Array(16))).toBeUndefined();
      expect(await store.resume("0".repeat(24), new Uint8Array(16))).toBeUndefined();
      // Ids and passwords of a shape the store never makes are refused without asking Redis:
      // even a frozen Redis does not hold them up.
      const answer = (resume: Promise<unknown>) =>
        Promise.race([resume, new Promise((resolve) => setTimeout(() => resolve("waited on Redis"), 500))]);
      env.server.pause();
      try {
        expect(await answer(store.resume(`${id}:x`, new Uint8Array(16)))).toBeUndefined();
        expect(await answer(store.resume("x".repeat(100_000), new Uint8Array(16)))).toBeUndefined();
        expect(await answer(store.resume(id, new Uint8Array(15)))).toBeUndefined();
      } finally {
        env.server.resume();
      }
      expect(carrier(cluster, client)).toBe(0);
    });

    it("ends a session whose unacknowledged pushes pass maxReplay, once, with buffer-overflow", async () => {
      const cluster = await startCluster(2, { maxReplay: 5 });
      const { id } = await connectedClient(cluster, 0);
      for (const link of cluster.network.links("s0")) link.blackHole();
      for (let i = 0; i < 5; i++) await cluster.servers[1]?.push(id, "n", i);
      await expect(cluster.servers[1]?.push(id, "n", 5)).rejects.toThrow(/unacknowledged pushes/);
      await cluster.run(20);
      expect(cluster.expired.flat().map(([sid, reason]) => [sid, reason])).toEqual([[id, "buffer-overflow"]]);
      await expect(cluster.servers[0]?.push(id, "n", 6)).rejects.toThrow(/not live/);
    });

    it("ends a session the client closes, once, and its expire listeners run on one server", async () => {
      const cluster = await startCluster(3);
      const { client, id } = await connectedClient(cluster, 1);
      await client.close();
      await cluster.run(3 * T);
      expect(cluster.expired.flat().map(([sid, reason]) => [sid, reason])).toEqual([[id, "closed"]]);
      expect(await env.probe.exists(cluster.keys.session(id)[0])).toBe(0);
    });
  });
}
