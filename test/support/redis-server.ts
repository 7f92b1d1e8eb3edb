import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RedisClusterConnection } from "@tether/cluster-redis";
import { type Cluster, Redis, type RedisOptions } from "ioredis";

/** Debian's redis-server, installed by .ci/run. */
export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? "/usr/bin/redis-server";

export interface RedisUnderTest {
  /** What a store's `redis` option takes to reach it (a Unix socket for one Redis: no port to collide with). */
  readonly connection: RedisOptions | RedisClusterConnection;
  /** A new client connection (the caller closes it): a `Cluster` for a Redis Cluster. */
  client(): Redis | Cluster;
  /** A new connection to each master (the caller closes them), for what is asked of every node. */
  masters(): Redis[];
  /** A new connection to each node, replicas too (the caller closes them). */
  nodes(): Redis[];
  /** Freezes the server(s) (SIGSTOP): it accepts nothing and answers nothing until `resume()`. */
  pause(): void;
  resume(): void;
  /** Kills the server(s) (SIGKILL) and starts new, empty ones where they were. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** One redis-server, on a Unix socket. */
export interface SingleRedis extends RedisUnderTest {
  /** The Unix socket it listens on. */
  readonly path: string;
  client(): Redis;
}

/** A redis-server process, and its end. */
export interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * Starts a throwaway redis-server for one test file: in memory only, on a Unix socket in a
 * fresh temporary directory, killed (and the directory removed) by `stop()`.
 */
export async function startRedis(): Promise<SingleRedis> {
  const dir = mkdtempSync(join(tmpdir(), "tether-redis-"));
  const path = join(dir, "redis.sock");
  let running: Running | undefined;
  const kill = async () => {
    const { child, exited } = running ?? {};
    running = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    running = await launch(dir, path);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    path,
    connection: { path },
    client: () => new Redis({ path, enableAutoPipelining: true }),
    masters: () => [new Redis({ path })],
    nodes: () => [new Redis({ path })],
    pause: () => running?.child.kill("SIGSTOP"),
    resume: () => running?.child.kill("SIGCONT"),
    restart: async () => {
      await kill();
      running = await launch(dir, path);
    },
    stop,
  };
}

/** Runs redis-server on `path` and waits until it accepts connections. */
function launch(dir: string, path: string): Promise<Running> {
  return runRedisServer([
    "--port",
    "0",
    "--unixsocket",
    path,
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ]);
}

/** Runs redis-server with `args` and waits until it accepts connections (killed if it does not). */
export async function runRedisServer(args: string[]): Promise<Running> {
  const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 5000);
      child.once("error", (error) => {
        clearTimeout(deadline);
        reject(new Error(`cannot run ${REDIS_SERVER} (apt-get install redis-server): ${error.message}`));
      });
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (/ready to accept connections/i.test(output)) {
          clearTimeout(deadline);
          resolve();
        }
      });
    });
  } catch (error) {
    if (child.pid !== undefined && child.exitCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    throw error;
  }
  return { child, exited };
}
