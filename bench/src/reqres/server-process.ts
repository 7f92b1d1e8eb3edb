/** A reqres echo server (`server.ts`) in a process of its own, as the load generator uses it. */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Variant } from "./variants.js";

export interface ServerProcess {
  readonly address: string;
  /** The server process's CPU time so far, in µs. */
  cpu(): Promise<number>;
  /** SIGINT (a profiling server writes its profile on the way out), then a kill after 3 s. */
  stop(): Promise<void>;
}

/** Forks the server for `variant` with Node flags `execArgv` and waits for its address. */
export async function startServerProcess(variant: Variant, execArgv: string[] = []): Promise<ServerProcess> {
  const child = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), [variant], {
    execArgv: ["--import", "tsx", ...execArgv],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const stop = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    child.kill();
  };
  try {
    const { address } = await new Promise<{ address: string }>((resolve) =>
      child.once("message", (m) => resolve(m as { address: string })),
    );
    const cpu = () =>
      new Promise<number>((resolve) => {
        child.once("message", (m) => resolve((m as { cpu: number }).cpu));
        child.send("cpu");
      });
    return { address, cpu, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
