import { startDemo } from "./demo.js";

const port = Number(process.env.PORT ?? 7070);
const options = { clients: Number(process.env.CLIENTS ?? 24), log: (line: string) => console.log(line) };
const demo = await startDemo({ ...options, port }).catch((error: NodeJS.ErrnoException) => {
  if (error.code !== "EADDRINUSE") throw error;
  console.log(`port ${port} is busy; using a free one`);
  return startDemo({ ...options, port: 0 });
});

console.log(`
  Tether demo
  dashboard:  ${demo.url}   (open it: pull a client's cable and watch its session expire)
  TCP:        ${demo.tcpAddress}
  WebSocket:  ${demo.wsAddress}
  admin:      ${demo.url}admin/stat  ${demo.url}admin/dump
  Ctrl-C to stop.
`);

let stopping = false;
const stop = async () => {
  if (stopping) process.exit(1);
  stopping = true;
  await demo.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
