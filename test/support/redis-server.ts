import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/** Debian's redis-server, installed by .ci/run. */
export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? "/usr/bin/redis-server";

export interface RedisUnderTest {
  /** The Unix socket it listens on (no TCP port: nothing to collide with). */
  readonly path: string;
  /** A new client connection (the caller closes it). */
  client(): Redis;
  /** Freezes the server (SIGSTOP): it accepts nothing and answers nothing until `resume()`. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway redis-server for one test file: in memory only, on a Unix socket in a
 * fresh temporary directory, killed (and the directory removed) by `stop()`.
 */
export async function startRedis(): Promise<RedisUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), "tether-redis-"));
  const path = join(dir, "redis.sock");
  const child: ChildProcess = spawn(
    REDIS_SERVER,
    ["--port", "0", "--unixsocket", path, "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const started = new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 5000);
    child.once("error", (error) => {
      clearTimeout(deadline);
      reject(new Error(`cannot run ${REDIS_SERVER} (apt-get install redis-server): ${error.message}`));
    });
    child.stdout?.on("data", () => {
      if (/ready to accept connections/i.test(output)) {
        clearTimeout(deadline);
        resolve();
      }
    });
  });
  try {
    await started;
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    path,
    client: () => new Redis({ path, enableAutoPipelining: true }),
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    stop,
  };
}
