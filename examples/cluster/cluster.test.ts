import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { redisForTests } from "../../test/support/redis-for-tests.js";

const redis = redisForTests();

describe("cluster example", () => {
  it("keeps every client's session through a SIGKILL, with every request answered", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--conditions=tether-source", fileURLToPath(new URL("./main.ts", import.meta.url))],
      {
        env: { ...process.env, REDIS: (redis.server.connection as { path: string }).path, RUN_SECONDS: "4" },
        timeout: 20_000,
      },
    );
    expect(stdout).toContain("killing s0 with SIGKILL");
    // The two clients that started on s0 went away and came back, on another server; the
    // others never noticed.
    expect(stdout).toMatch(/client0: disconnected/);
    expect(stdout).toMatch(/client3: disconnected/);
    expect(stdout).not.toMatch(/client[1245]: disconnected/);
    expect(stdout).toMatch(/client0: request \d+ answered by s[12]/);
    const summary =
      /summary: (\d+) of 6 clients kept their sessions; (\d+) requests answered, (\d+) failed/.exec(stdout);
    expect(Number(summary?.[1])).toBe(6);
    expect(Number(summary?.[2])).toBeGreaterThan(200);
    // A request caught running on s0 as it died is answered server-lost (it ran at most once);
    // with one request in flight per client, at most the two of s0's clients can be.
    const failures = stdout.split("\n").filter((line) => line.includes("failed:"));
    expect(failures.length).toBe(Number(summary?.[3]));
    expect(failures.length).toBeLessThanOrEqual(2);
    for (const line of failures) expect(line).toMatch(/^client[03]: .*died before answering/);
  }, 30_000);
});
