// A Redis Cluster master dies for good and its replica takes over its slots (real time, a
// second or two): the sessions whose partitions it held live on in the replica's copy.
import { describe, expect, it } from "vitest";
import type { RedisClusterUnderTest } from "../../../test/support/redis-cluster.js";
import { redisForTests } from "../../../test/support/redis-for-tests.js";
import { clusterHarness, connectedClient, T } from "./cluster-harness.js";

const env = redisForTests("redis-cluster", { replicas: 1, nodeTimeout: 1000 });
const { startCluster } = clusterHarness(env);

describe("cluster mode on a Redis Cluster whose master fails over", () => {
  it("keeps every session, answers every request once and delivers every push", async () => {
    const cluster = await startCluster(2);
    let runs = 0;
    for (const server of cluster.servers) server.handle("count", () => ++runs);
    // Sessions until three live in partitions of the master that will die (slots 0-5461 of 3).
    const clients = [];
    let onDyingMaster = 0;
    for (let i = 0; i < 40 && onDyingMaster < 3; i++) {
      const connected = await connectedClient(cluster, i % 2);
      clients.push(connected);
      const slot = Number(await env.probe.call("CLUSTER", "KEYSLOT", cluster.keys.session(connected.id)[0]));
      if (slot < Math.ceil(16384 / 3)) onDyingMaster++;
    }
    expect(onDyingMaster).toBe(3);

    // Requests made while the master is dead and its replica not yet in charge (one to three
    // seconds of real time) meet a cluster that cannot serve those slots. The servers' clock
    // runs on meanwhile, slower than real time: a failover shorter than a session timeout, as
    // with production settings (cluster-node-timeout 15 s, T = 30 s).
    const killed = cluster.clock.now();
    let failedOver = false;
    const failover = (env.server as RedisClusterUnderTest).failMaster(0).then(() => {
      failedOver = true;
    });
    const answers = clients.map(({ client }) => client.request("count"));
    let settled = 0;
    const done = () => {
      settled++;
    };
    for (const answer of answers) answer.then(done, done);
    // Redis fails over in real time; each step lets its round trips run.
    for (let i = 0; i < 1000 && (settled < answers.length || !failedOver); i++) {
      await cluster.run(10);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await failover;
    expect(cluster.clock.now() - killed).toBeLessThan(T);
    await expect(Promise.all(answers)).resolves.toHaveLength(clients.length);
    expect(runs).toBe(clients.length);
    for (const { client, id } of clients) {
      expect(client.state).toBe("connected");
      expect(client.sessionId).toBe(id);
    }
    for (const { id } of clients) await cluster.servers[1]?.push(id, "news", "after the failover");
    await cluster.run(50);
    for (const { pushes } of clients) expect(pushes).toEqual(["after the failover"]);
    expect(cluster.expired.flat()).toEqual([]);
  }, 60_000);
});
