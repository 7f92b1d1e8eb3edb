import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { describe, expect, it } from "vitest";

describe("graceful shutdown example", () => {
  it("on SIGTERM, tells connected clients to go away and exits 0 in bounded time", async () => {
    const child = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx", "--conditions=tether-source"],
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    });
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    const { address } = await new Promise<{ address: string }>((resolve) =>
      child.once("message", (m) => resolve(m as { address: string })),
    );
    const client = createClient({
      servers: [{ transport: tcp(), address }],
      timeout: 4000,
      clientExpiry: false,
    });
    await client.connected();
    expect(typeof (await client.request("time"))).toBe("number");
    const states: string[] = [];
    client.on("state", (s) => states.push(s));
    const started = performance.now();
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    const code = await exited;
    const took = performance.now() - started;
    expect(code).toBe(0);
    expect(took).toBeLessThan(5000);
    expect(states[0]).toBe("disconnected"); // told to go away: it will reconnect and resume elsewhere
    expect(output).toContain("saying goodbye to 1 connections");
    expect(output).toContain("closed cleanly");
    await client.close();
  });
});
