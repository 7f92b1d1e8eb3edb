import { fork } from "node:child_process";
import * as net from "node:net";

/**
 * A TCP port where connects never complete: a child process listens with a backlog of 1 and
 * then blocks its event loop, so the kernel's accept queue fills (we fill it ourselves) and
 * further SYNs are dropped. Loopback only; the child is killed by `close()`.
 */
export async function stalledListener(): Promise<{ address: string; close(): Promise<void> }> {
  const child = fork(
    "-e",
    [
      `const net = require("node:net");
       const server = net.createServer();
       server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
         process.send(server.address().port, () => {
           // Never return to the event loop: nothing is ever accepted.
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
         });
       });`,
    ],
    { execArgv: [], stdio: ["ignore", "ignore", "ignore", "ipc"], execPath: process.execPath },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve(m as number));
    child.once("exit", (code) => reject(new Error(`stalled listener exited early (${code})`)));
  });
  // Fill the accept queue so that later SYNs are dropped.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => {});
    fillers.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}
