import { createMemoryNetwork } from "@tether/transport-memory";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { echoOnce, startEchoServer } from "./echo.js";

// The one line that chooses the transport: `tcp`, `ws` or `memory` (default tcp).
const choice = process.argv[2] ?? "tcp";
const network = createMemoryNetwork();
const pick = { tcp: () => tcp(), ws: () => webSocket(), memory: () => network.transport() }[choice];
if (pick === undefined) throw new Error(`unknown transport "${choice}": use tcp, ws or memory`);

const { server, address } = await startEchoServer(pick(), choice === "memory" ? "echo" : "127.0.0.1:0");
console.log(`echo server on ${choice} at ${address}`);
console.log(`reply: ${JSON.stringify(await echoOnce(pick(), address, `hello over ${choice}`))}`);
await server.close();
