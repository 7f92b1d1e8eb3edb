import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createServer, MessageType, type TetherServer, type Transport } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { tcp } from "@tether/transport-tcp";
import { describe, expect, it } from "vitest";
import { RawSession } from "../support/raw-session.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Opens a session, closes it explicitly, and waits until the server let go of the connection. */
async function cycle(transport: Transport, address: string): Promise<void> {
  const r = await RawSession.dial(transport, address);
  r.hello({ timeout: 4000 });
  await r.waitFor((m) => m[0] === MessageType.Welcome);
  r.send([MessageType.CloseSession]);
  await r.waitFor((m) => m[0] === MessageType.Goodbye);
  await r.connection.closed;
}

async function cycles(server: TetherServer, transport: Transport, address: string, count: number) {
  for (let i = 0; i < count; i++) await cycle(transport, address);
  // The server side closes a beat after the client sees it.
  for (let i = 0; i < 100 && server.metrics().connections > 0; i++)
    await new Promise((r) => setTimeout(r, 5));
}

describe("connect/handshake/close cycles", () => {
  it("50,000 cycles over memory leave the heap where it was after warm-up", async () => {
    const network = createMemoryNetwork();
    const server = createServer({ tickTime: 1000, maxConnectionsPerAddress: 0 });
    await server.listen(network.transport(), "server");
    const transport = network.transport();
    await cycles(server, transport, "server", 5_000);
    const warm = heapAfterGc();
    await cycles(server, transport, "server", 45_000);
    const after = heapAfterGc();
    const metrics = server.metrics();
    console.log(
      `50,000 cycles: heap ${(warm / 1048576).toFixed(1)} MiB after 5,000, ${(after / 1048576).toFixed(1)} MiB after 50,000 ` +
        `(${((after - warm) / 45_000).toFixed(1)} bytes per cycle); sessions ${metrics.sessions}, connections ${metrics.connections}`,
    );
    expect(metrics.sessionsOpened).toBe(50_000);
    expect(metrics.sessionsEnded.closed).toBe(50_000);
    expect(metrics.sessions).toBe(0);
    expect(metrics.connections).toBe(0);
    expect(network.links()).toHaveLength(0);
    // No growth: under 2 MiB of drift across 45,000 cycles (about 45 bytes a cycle) is noise.
    expect(after - warm).toBeLessThan(2 * 1024 * 1024);
    await server.close();
  }, 120_000);

  it("2,000 cycles over TCP leave no open handles and no heap growth", async () => {
    const server = createServer({ tickTime: 1000, maxConnectionsPerAddress: 0 });
    const listener = await server.listen(tcp(), "127.0.0.1:0");
    const transport = tcp();
    await cycles(server, transport, listener.address, 200);
    const handles = process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap").length;
    const warm = heapAfterGc();
    await cycles(server, transport, listener.address, 2_000);
    for (let i = 0; i < 50 && process.getActiveResourcesInfo().length > handles; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const after = heapAfterGc();
    expect(process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap").length).toBeLessThanOrEqual(
      handles,
    );
    expect(server.metrics().connections).toBe(0);
    expect(after - warm).toBeLessThan(2 * 1024 * 1024);
    await server.close();
  }, 120_000);
});
