import { createClient, createServer, ManualClock } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { tcp } from "@tether/transport-tcp";
import { expect, it, vi } from "vitest";

it("counts frames, bytes, pings, requests and request latency; stat and dump summarise them", async () => {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server = createServer({ clock, tickTime: 1000 });
  server.handle("slow", () => new Promise((resolve) => clock.setTimeout(() => resolve("ok"), 30)));
  await server.listen(network.transport(), "s");
  const client = createClient({
    servers: [{ transport: network.transport(), address: "s" }],
    timeout: 6000,
    clock,
  });
  await clock.advanceAsync(1);
  const reply = client.request("slow");
  await clock.advanceAsync(30);
  expect(await reply).toBe("ok");
  await clock.advanceAsync(2000); // one ping at T/3 = 2000 ms of quiet
  const m = server.metrics();
  expect(m.requests).toBe(1);
  expect(m.pings).toBe(1);
  expect(m.framesIn).toBe(3); // Hello, Request, Ping
  expect(m.framesOut).toBe(3); // Welcome, Response, Pong
  expect(m.bytesIn).toBeGreaterThan(0);
  expect(m.requestLatency.count).toBe(1);
  expect(m.requestLatency.sum).toBe(30);
  expect(m.requestLatency.buckets.find((b) => b.le === 25)?.count).toBe(0);
  expect(m.requestLatency.buckets.find((b) => b.le === 50)?.count).toBe(1);
  expect(m.connectionsByTransport).toEqual({ memory: 1 });
  const stat = server.stat();
  expect(stat).toContain("Sessions: 1 (opened 1, resumed 0");
  expect(stat).toContain("Requests: 1, average latency 30.00 ms; pings 1");
  expect(server.dump()).toContain(`\t${client.sessionId} timeout=6000`);
  await client.close();
  await server.close();
});

it("counts open connections per transport as they open and close, and drops a transport with none", async () => {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server = createServer({ clock, tickTime: 1000 });
  await server.listen(network.transport(), "s");
  const tcpListener = await server.listen(tcp(), "127.0.0.1:0");
  const memoryClients = [0, 1].map(() =>
    createClient({ servers: [{ transport: network.transport(), address: "s" }], timeout: 6000, clock }),
  );
  await clock.advanceAsync(1);
  const tcpClient = createClient({
    servers: [{ transport: tcp(), address: tcpListener.address }],
    timeout: 6000,
  });
  await tcpClient.connected();
  expect(server.metrics().connectionsByTransport).toEqual({ memory: 2, tcp: 1 });

  await memoryClients[0]?.close();
  await clock.advanceAsync(1);
  expect(server.metrics().connectionsByTransport).toEqual({ memory: 1, tcp: 1 });
  await tcpClient.close();
  await vi.waitFor(() => expect(server.metrics().connectionsByTransport).toEqual({ memory: 1 }), {
    timeout: 2000,
    interval: 5,
  });
  expect(server.metrics().connections).toBe(1);
  await memoryClients[1]?.close();
  await clock.advanceAsync(1);
  expect(server.metrics().connectionsByTransport).toEqual({});
  await server.close();
});
