import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { DEFAULT_MAX_FRAME_BYTES, type Listener } from "@tether/core";
import { describeTransportConformance, type TransportOverrides } from "@tether/transport-conformance";
import { afterAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type TestCertificate, testCertificate } from "../../../test/support/certificate.js";
import { webSocket as browserWebSocket, type WhatwgWebSocketConstructor } from "../src/browser.js";
import { attachWebSocket, webSocket } from "../src/index.js";

async function closedAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `ws://127.0.0.1:${port}/`;
}

/** Accepts TCP and never answers the HTTP upgrade. */
function silentServer() {
  const sockets: net.Socket[] = [];
  const servers: net.Server[] = [];
  return {
    async address(): Promise<string> {
      const server = net.createServer((socket) => sockets.push(socket));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
    },
  };
}

describeTransportConformance({
  name: "ws standalone",
  setup: () => {
    const silent = silentServer();
    return {
      transport: (overrides) => webSocket(overrides),
      listenAddress: () => "127.0.0.1:0",
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      abortIsVisible: true,
      closedAddress,
      unresponsiveAddress: () => silent.address(),
      teardown: () => silent.close(),
    };
  },
});

/**
 * A transport whose `listen` attaches to an http(s) server that also serves a GET route, so
 * every conformance case runs beside ordinary HTTP traffic on the same port.
 */
function attachedTransport(
  overrides: TransportOverrides | undefined,
  servers: http.Server[],
  secure: boolean,
  certificate?: TestCertificate,
) {
  const base = webSocket({
    ...overrides,
    ...(secure ? { tls: { ca: certificate?.cert, servername: "localhost" } } : {}),
  });
  return {
    name: "ws",
    dial: base.dial.bind(base),
    async listen(_address: string, onConnection: Parameters<typeof base.listen>[1]): Promise<Listener> {
      const route = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end("http still works");
      const server =
        secure && certificate !== undefined
          ? https.createServer(certificate, route)
          : http.createServer(route);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const attached = attachWebSocket(server, { ...overrides, path: "/tether" }, onConnection);
      return {
        address: attached.address,
        close: async () => {
          await attached.close();
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
        },
      };
    },
  };
}

describeTransportConformance({
  name: "ws attached to an http server",
  setup: () => {
    const servers: http.Server[] = [];
    const silent = silentServer();
    return {
      transport: (overrides) => attachedTransport(overrides, servers, false),
      listenAddress: () => "127.0.0.1:0",
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      abortIsVisible: true,
      closedAddress,
      unresponsiveAddress: () => silent.address(),
      teardown: () => silent.close(),
    };
  },
});

describeTransportConformance({
  name: "wss attached to an https server",
  setup: async () => {
    const servers: http.Server[] = [];
    const certificate = await testCertificate();
    return {
      transport: (overrides) => attachedTransport(overrides, servers, true, certificate),
      listenAddress: () => "127.0.0.1:0",
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      abortIsVisible: true,
      closedAddress: async () => (await closedAddress()).replace("ws:", "wss:"),
    };
  },
});

describe("ws attached beside HTTP routes", () => {
  const servers: http.Server[] = [];
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("answers a normal GET on the same port while Tether connections are open", async () => {
    const transport = attachedTransport(undefined, servers, false);
    const listener = await transport.listen("", (c) => c.on("frame", (f) => c.send(f)));
    const client = await webSocket().dial(listener.address);
    const url = listener.address.replace("ws://", "http://").replace("/tether", "/anything");
    const body = await (await fetch(url)).text();
    expect(body).toBe("http still works");
    const echo = new Promise<Uint8Array>((resolve) => client.once("frame", resolve));
    client.send(Buffer.from("ping"));
    expect(Buffer.from(await echo).toString()).toBe("ping");
    await client.close();
    await listener.close();
  });

  it("leaves upgrades on other paths alone and refuses plain HTTP on a standalone port with 426", async () => {
    const listener = await webSocket().listen("127.0.0.1:0", () => {});
    const response = await fetch(listener.address.replace("ws://", "http://"));
    expect(response.status).toBe(426);
    await listener.close();
  });

  it("refuses a disallowed Origin with HTTP 403", async () => {
    const listener = await webSocket({ verifyOrigin: (origin) => origin === "https://good.example" }).listen(
      "127.0.0.1:0",
      () => {},
    );
    await expect(
      webSocket({ headers: { Origin: "https://evil.example" } }).dial(listener.address),
    ).rejects.toMatchObject({ name: "DialError", message: expect.stringContaining("403") });
    const good = await webSocket({ headers: { Origin: "https://good.example" } }).dial(listener.address);
    await good.close();
    await listener.close();
  });
});

describeTransportConformance({
  name: "ws browser dialer (WHATWG API, driven by ws's WebSocket)",
  setup: () => {
    const silent = silentServer();
    return {
      transport: (overrides) => {
        const node = webSocket(overrides);
        const browser = browserWebSocket({
          ...overrides,
          WebSocket: WebSocket as unknown as WhatwgWebSocketConstructor,
        });
        return { name: "ws", dial: browser.dial.bind(browser), listen: node.listen.bind(node) };
      },
      listenAddress: () => "127.0.0.1:0",
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      abortIsVisible: true,
      closedAddress,
      unresponsiveAddress: () => silent.address(),
      teardown: () => silent.close(),
    };
  },
});
