/**
 * One server of `idle-scale` in a process of its own, so the two are measured side by side
 * (argv[2]: `raw` or `tether`). Reports its address over IPC, then answers the parent's
 * questions: `memory` (heap and memory outside it after full collections, and the sessions or
 * sockets held) and `cpu` (this process's CPU time so far in µs, the sessions or sockets
 * held, and for Tether the Pings answered and sessions expired).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { rawPingPongServer } from "./raw-ping-pong.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

export type IdleServerQuestion = "memory" | "cpu";
export interface IdleServerMemory {
  heap: number;
  external: number;
  connected: number;
}
export interface IdleServerCpu {
  cpu: number;
  connected: number;
  pings: number;
  expired: number;
}

async function start(mode: string) {
  if (mode === "raw") {
    const server = await rawPingPongServer();
    return { address: server.address, connected: server.connections, pings: () => 0, expired: () => 0 };
  }
  // Every client dials from 127.0.0.1: the per-address bounds would refuse all but the first thousand.
  const server = createServer({ tickTime: 2000, maxConnectionsPerAddress: 0, maxSessionsPerAddress: 0 });
  const { address } = await server.listen(tcp(), "127.0.0.1:0");
  return {
    address,
    connected: () => server.metrics().sessions,
    pings: () => server.metrics().pings,
    expired: () => server.metrics().sessionsEnded.expired,
  };
}

const server = await start(process.argv[2] ?? "tether");
process.send?.({ address: server.address });
process.on("message", (question: IdleServerQuestion) => {
  if (question === "memory") {
    for (let i = 0; i < 3; i++) gc();
    const { heapUsed, external } = process.memoryUsage();
    const answer: IdleServerMemory = { heap: heapUsed, external, connected: server.connected() };
    process.send?.(answer);
  } else {
    const used = process.cpuUsage();
    const answer: IdleServerCpu = {
      cpu: used.user + used.system,
      connected: server.connected(),
      pings: server.pings(),
      expired: server.expired(),
    };
    process.send?.(answer);
  }
});
process.on("SIGTERM", () => process.exit(0));
