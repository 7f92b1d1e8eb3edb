import { createClient } from "@tether/core";
import { webSocket } from "@tether/transport-ws";
import { expect, it } from "vitest";
import { startExpressApp } from "./app.js";

it("serves Express routes and Tether sessions on the same port", async () => {
  const app = await startExpressApp();
  try {
    const client = createClient({
      servers: [{ transport: webSocket(), address: app.tetherAddress }],
      timeout: 10_000,
    });
    expect(await client.request("greet", "express")).toBe("hello, express");
    const health = await (await fetch(`${app.url}/health`)).json();
    expect(health).toEqual({ ok: true, sessions: 1 });
    expect(new URL(app.tetherAddress).port).toBe(new URL(app.url).port);
    await client.close();
  } finally {
    await app.stop();
  }
});

it("says the port is taken, instead of failing later with a TypeError", async () => {
  const first = await startExpressApp();
  try {
    const port = Number(new URL(first.url).port);
    await expect(startExpressApp(port)).rejects.toThrow(`port ${port} is already in use`);
  } finally {
    await first.stop();
  }
});
