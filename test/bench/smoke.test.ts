/**
 * The benchmarks are deliverables too: each one here runs for a moment at a tiny size and must
 * print its figures. (A bench that could not start, as when one imported vitest through a test
 * helper, once went unnoticed until someone ran it.) The figures themselves are not judged here:
 * speed is measured by `pnpm bench`, not by tests.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const benchDir = fileURLToPath(new URL("../../bench/", import.meta.url));

async function bench(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await run("node", ["--conditions=tether-source", "--import", "tsx", script], {
    cwd: benchDir,
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return stdout;
}

/** The number in column `column` (1-based) of the markdown row naming `name`. */
function cell(output: string, name: string, column: number): number {
  const row = output.split("\n").find((line) => line.includes(`| ${name} |`));
  return Number(row?.split("|")[column]?.replaceAll(",", "").trim());
}

describe("benchmarks start and report", () => {
  it("reqres: every variant answers and the goals table is printed", async () => {
    const variants = ["raw-net", "tether-tcp", "raw-ws", "tether-ws", "socket.io"];
    const output = await bench("src/reqres/main.ts", {
      ONLY: "1x100",
      VARIANTS: variants.join(","),
      MEASURE_MS: "150",
      WARMUP_MS: "50",
    });
    for (const variant of variants) expect(cell(output, variant, 3), variant).toBeGreaterThan(0);
    expect(output).toMatch(/\| 1 client, 100 B \| \d+% (met|MISSED) \|/);
  }, 60_000);

  it("server-path: both paths measured", async () => {
    const output = await bench("src/server-path.ts", { REQUESTS: "2000", PASSES: "1" });
    expect(output).toMatch(/tether server pipeline: [\d,.]+ ns\/request/);
    expect(output).toMatch(/raw unpack \+ pack: +[\d,.]+ ns\/request/);
  }, 60_000);

  it("reqres-promoted: the load generator's promoted bytes reported by site, per variant", async () => {
    const output = await bench("src/reqres/promoted.ts", {
      VARIANTS: "raw-net,tether-tcp",
      CLIENTS: "2",
      BODY: "1024",
      WARMUP_MS: "100",
      MEASURE_MS: "300",
    });
    for (const variant of ["raw-net", "tether-tcp"]) {
      expect(output).toMatch(
        new RegExp(`${variant}: [\\d,.]+ requests measured, [\\d,.]+ B promoted per request`),
      );
    }
    expect(output).toMatch(/\| [\d,.]+ \| .+ < .+ \|/);
  }, 60_000);

  it("server-gc: every path measured, with its collections counted", async () => {
    const output = await bench("src/server-gc.ts", { REQUESTS: "400", BODY: "1024" });
    for (const path of ["raw", "pipeline", "tether"]) {
      expect(cell(output, path, 2), path).toBeGreaterThan(0);
      expect(cell(output, path, 4), path).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);

  it("ping-path: hot and scattered sessions measured", async () => {
    const output = await bench("src/ping-path.ts", { SESSIONS: "50", PINGS: "1000", PASSES: "1" });
    expect(output).toMatch(/one session \(hot\): +[\d,.]+ ns\/ping/);
    expect(output).toMatch(/50 sessions \(scattered\): [\d,.]+ ns\/ping/);
  }, 60_000);

  it("fanout: pushes reach every receiver", async () => {
    const output = await bench("src/fanout/main.ts", { RECEIVERS: "20", ROUNDS: "5" });
    for (const server of ["tether-ws", "tether-tcp", "socket.io"]) {
      expect(cell(output, server, 2), server).toBeGreaterThan(0);
    }
  }, 60_000);
});
