import { createMemoryNetwork } from "@tether/transport-memory";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { describe, expect, it } from "vitest";
import { echoOnce, startEchoServer } from "./echo.js";

const network = createMemoryNetwork();

describe("echo example: one server and client, three transports", () => {
  it.each([
    ["tcp", () => tcp(), "127.0.0.1:0"],
    ["ws", () => webSocket(), "127.0.0.1:0"],
    ["memory", () => network.transport(), "echo"],
  ] as const)("echoes over %s", async (name, transport, address) => {
    const { server, address: bound } = await startEchoServer(transport(), address);
    try {
      expect(await echoOnce(transport(), bound, `hello over ${name}`)).toBe(`hello over ${name}`);
      expect(server.metrics().sessionsOpened).toBe(1);
    } finally {
      await server.close();
    }
  });
});
