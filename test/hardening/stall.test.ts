import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient, createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { describe, expect, it } from "vitest";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // A stalled event loop: a long synchronous computation, a GC pause, a debugger.
  }
}

describe("event-loop stalls (TCP, real time)", () => {
  it("a server blocked for 3T while its clients keep pinging expires none of them", async () => {
    const T = 600;
    const server = createServer({ tickTime: 100 });
    const expired: string[] = [];
    const stalls: number[] = [];
    server.on("expire", (session, reason) => expired.push(`${session.id}:${reason}`));
    server.store.on("stall", (late) => stalls.push(late));
    const listener = await server.listen(tcp(), "127.0.0.1:0");
    const child = fork(fileURLToPath(new URL("../support/stall-clients.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx", "--conditions=tether-source"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const next = <T>() => new Promise<T>((resolve) => child.once("message", (m) => resolve(m as T)));
    try {
      const ready = next();
      child.send({ start: { address: listener.address, count: 20, timeout: T } });
      await ready;
      expect([...server.sessions()]).toHaveLength(20);
      await sleep(T / 2);

      block(3 * T);
      await sleep(2 * T);

      expect(expired).toEqual([]);
      expect(stalls.length).toBeGreaterThan(0);
      expect([...server.sessions()]).toHaveLength(20);
      const report = next<{ states: string[]; sessions: string[] }>();
      child.send({ report: true });
      const { states, sessions } = await report;
      expect(states.every((s) => s === "connected")).toBe(true);
      expect(new Set(sessions)).toEqual(new Set([...server.sessions()].map((s) => s.id)));
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send({ stop: true });
      await Promise.race([exited, sleep(3000)]);
      child.kill();
      await server.close();
    }
  });

  it("a client blocked for most of its read timeout while pushes arrive keeps its connection", async () => {
    const T = 600;
    const child = fork(fileURLToPath(new URL("../support/push-server.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx", "--conditions=tether-source"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const next = <T>() => new Promise<T>((resolve) => child.once("message", (m) => resolve(m as T)));
    try {
      const started = next<{ address: string }>();
      child.send({ start: { every: T / 10 } });
      const { address } = await started;
      const client = createClient({ servers: [{ transport: tcp(), address }], timeout: T });
      const states: string[] = [];
      client.on("state", (s) => states.push(s));
      let pushes = 0;
      client.on("push", () => pushes++);
      await client.connected();
      await sleep(T / 2);
      // A request just before the stall, so the server hears from us within T (an unknown op
      // is fine: any frame counts).
      await client.request("anything").catch(() => {});
      const before = pushes;
      // Longer than the read timeout (2T/3) since the last frame was read: the timer fires
      // first, but the pushes that arrived meanwhile must be read before it decides.
      block(0.75 * T);
      await sleep(T / 2);
      expect(states).toEqual(["connected"]);
      expect(pushes).toBeGreaterThan(before);
      await client.close();
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send({ stop: true });
      await Promise.race([exited, sleep(3000)]);
      child.kill();
    }
  });
});
