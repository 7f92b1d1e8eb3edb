import { createClient } from "@tether/core";
import { webSocket } from "@tether/transport-ws";
import { expect, it } from "vitest";
import { startFastifyApp } from "./app.js";

it("serves Fastify routes and Tether sessions on the same port", async () => {
  const app = await startFastifyApp();
  try {
    const client = createClient({
      servers: [{ transport: webSocket(), address: app.tetherAddress }],
      timeout: 10_000,
    });
    expect(await client.request("greet", "fastify")).toBe("hello, fastify");
    const health = await (await fetch(`${app.url}/health`)).json();
    expect(health).toEqual({ ok: true, sessions: 1 });
    await client.close();
  } finally {
    await app.stop();
  }
});
