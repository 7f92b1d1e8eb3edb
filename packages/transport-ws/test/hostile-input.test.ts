import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { type Connection, FrameTooLargeError, ProtocolError } from "@tether/core";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { webSocket } from "../src/index.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(maxFrameBytes = 1024) {
  const accepted: Connection[] = [];
  const listener = await webSocket({ maxFrameBytes }).listen("127.0.0.1:0", (c) => accepted.push(c));
  cleanups.push(() => listener.close());
  const raw = async () => {
    const ws = new WebSocket(listener.address);
    ws.on("error", () => {});
    await new Promise((resolve) => ws.once("open", resolve));
    cleanups.push(() => ws.terminate());
    while (accepted.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    return { ws, connection: accepted.shift() as Connection, closed };
  };
  return { listener, raw };
}

describe("ws transport against hostile input", () => {
  it("closes on a text message with code 1003 and a ProtocolError", async () => {
    const { raw } = await server();
    const { ws, connection, closed } = await raw();
    ws.send("not binary");
    expect((await connection.closed).error).toBeInstanceOf(ProtocolError);
    expect(await closed).toBe(1003);
  });

  it("closes on a message that ends inside a frame with code 1002", async () => {
    const { raw } = await server();
    const { ws, connection, closed } = await raw();
    ws.send(Buffer.from([0, 0, 0, 10, 1, 2]));
    expect((await connection.closed).error).toBeInstanceOf(ProtocolError);
    expect(await closed).toBe(1002);
  });

  it("closes on an oversized frame header inside a message with code 1009", async () => {
    const { raw } = await server();
    const { ws, connection, closed } = await raw();
    ws.send(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    expect((await connection.closed).error).toBeInstanceOf(FrameTooLargeError);
    expect(await closed).toBe(1009);
  });

  it("survives random bytes on the port while a good client keeps working", async () => {
    const { listener } = await server();
    const accepted: Connection[] = [];
    const echo = await webSocket().listen("127.0.0.1:0", (c) => {
      accepted.push(c);
      c.on("frame", (f) => c.send(f));
    });
    cleanups.push(() => echo.close());
    const good = await webSocket().dial(echo.address);
    cleanups.push(() => good.abort());
    const port = Number(new URL(echo.address).port);
    for (let i = 0; i < 20; i++) {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => {});
      cleanups.push(() => socket.destroy());
      socket.end(randomBytes(100 + i * 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reply = new Promise<Uint8Array>((resolve) => good.once("frame", resolve));
    good.send(Buffer.from("ok"));
    expect(Buffer.from(await reply).toString()).toBe("ok");
    expect(accepted).toHaveLength(1);
    expect(listener.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
  });
});
