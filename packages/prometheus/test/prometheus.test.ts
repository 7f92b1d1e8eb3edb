import { createClient, createServer, SERVER_COUNTERS, silentLogger } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { Registry } from "prom-client";
import { expect, it } from "vitest";
import { registerTetherClientMetrics, registerTetherMetrics } from "../src/index.js";

it("exposes a server's metrics in Prometheus text format", async () => {
  const network = createMemoryNetwork();
  const server = createServer();
  server.handle("echo", (body) => body);
  await server.listen(network.transport(), "s");
  const registry = registerTetherMetrics(server, { registry: new Registry() });
  const client = createClient({
    servers: [{ transport: network.transport(), address: "s" }],
    timeout: 10_000,
  });
  await client.request("echo", 1);
  const text = await registry.metrics();
  expect(text).toContain("# TYPE tether_sessions gauge");
  expect(text).toContain("tether_sessions 1");
  expect(text).toContain('tether_connections{transport="memory"} 1');
  expect(text).toContain("tether_requests_total 1");
  expect(text).toMatch(/tether_frames_total\{direction="in"\} 2/);
  expect(text).toContain("# TYPE tether_request_duration_seconds histogram");
  expect(text).toContain('tether_request_duration_seconds_bucket{le="+Inf"} 1');
  expect(text).toContain("tether_request_duration_seconds_count 1");
  await client.close();
  await server.close();
});

it("exports every counter of the server's table, with the value metrics() reports", async () => {
  const server = createServer();
  const registry = registerTetherMetrics(server, { registry: new Registry(), prefix: "t_" });
  const text = await registry.metrics();
  const snapshot = server.metrics();
  for (const { series, fields } of SERVER_COUNTERS) {
    expect(text).toContain(`# TYPE t_${series} counter`);
    for (const [field, labels] of Object.entries(fields)) {
      const labelText = Object.entries(labels)
        .map(([name, value]) => `${name}="${value}"`)
        .join(",");
      const value = snapshot[field as keyof typeof snapshot];
      expect(text).toContain(`t_${series}${labelText ? `{${labelText}}` : ""} ${value}`);
    }
  }
  await server.close();
});

it("exposes a client's metrics too", async () => {
  const network = createMemoryNetwork();
  const server = createServer({ logger: silentLogger });
  server.handle("echo", (body) => body);
  await server.listen(network.transport(), "s");
  const client = createClient({
    servers: [{ transport: network.transport(), address: "s" }],
    timeout: 10_000,
  });
  const registry = registerTetherClientMetrics(client, { registry: new Registry() });
  await client.request("echo", 1);
  const text = await registry.metrics();
  expect(text).toContain('tether_client_requests_total{outcome="response"} 1');
  expect(text).toContain("tether_client_reconnects_total 0");
  expect(text).toMatch(/tether_client_state_seconds_total\{state="connected"\} [0-9.e-]+/);
  expect(text).toContain("tether_client_request_duration_seconds_count 1");
  await client.close();
  await server.close();
});
