// One side of a netns-lab.ts network: a Tether server or client in its own namespace, driven
// over IPC by { id, command, args } and answering { reply: id, value } or { reply: id, error }.
// It reports its client states and server expiries as { event } with wall-clock times.
//
// Commands:
//   server  { tickTime }                    listens on the lab's server address; value: address
//   client  { address, timeout, maxFrameBytes? }  value: the session id, once connected
//   request { op, body?, bodyBytes?, timeout? }   value: { answer } or { error: { name, code } };
//           a Uint8Array answer is reported as { bytes: its length }
//   stream  { count, every, timeout }       `count` "counted" requests, one every `every` ms;
//           value: { answered: how often each was answered, failed: errors by request }
//   runs                                    (server) how often each "counted" request ran

import { createClient, createServer, type TetherClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { SERVER_IP } from "./netns-lab.js";

const send = (message: unknown) => process.send?.(message);
const event = (kind: string, value: string, session?: string) =>
  send({ event: { kind, value, session, at: Date.now() } });

const runs: Record<number, number> = {};
let client: TetherClient | undefined;

function summary(value: unknown) {
  return value instanceof Uint8Array ? { bytes: value.byteLength } : value;
}

async function outcome(promise: Promise<unknown>) {
  try {
    return { answer: summary(await promise) };
  } catch (error) {
    const { name, code } = error as { name: string; code?: string };
    return { error: { name, code } };
  }
}

const commands: Record<string, (args: never) => Promise<unknown>> = {
  async server(args: { tickTime: number }) {
    const server = createServer({ tickTime: args.tickTime, minSessionTimeout: 2 * args.tickTime });
    server.on("error", () => {});
    server.on("expire", (session, reason) => event("expire", reason, session.id));
    server.handle("echo", (body) => body);
    server.handle("big", (size) => new Uint8Array(size as number));
    server.handle("upload", (body) => (body as Uint8Array).byteLength);
    server.handle("counted", (n) => {
      runs[n as number] = (runs[n as number] ?? 0) + 1;
      return n;
    });
    const listener = await server.listen(tcp(), `${SERVER_IP}:0`);
    return listener.address;
  },
  async runs() {
    return runs;
  },
  async client(args: { address: string; timeout: number; maxFrameBytes?: number }) {
    const transport = tcp(args.maxFrameBytes ? { maxFrameBytes: args.maxFrameBytes } : {});
    client = createClient({ servers: [{ transport, address: args.address }], timeout: args.timeout });
    const connecting = client;
    connecting.on("state", (state) => event("state", state, connecting.sessionId ?? undefined));
    await connecting.connected();
    return connecting.sessionId;
  },
  async request(args: { op: string; body?: unknown; bodyBytes?: number; timeout?: number }) {
    const body = args.bodyBytes === undefined ? args.body : new Uint8Array(args.bodyBytes);
    return outcome(
      requireClient().request(args.op, body, args.timeout === undefined ? {} : { timeout: args.timeout }),
    );
  },
  async stream(args: { count: number; every: number; timeout: number }) {
    const answered: Record<number, number> = {};
    const failed: Record<number, unknown> = {};
    const sent: Promise<void>[] = [];
    for (let n = 0; n < args.count; n++) {
      sent.push(
        requireClient()
          .request("counted", n, { timeout: args.timeout })
          .then(
            () => {
              answered[n] = (answered[n] ?? 0) + 1;
            },
            (error: Error) => {
              failed[n] = error.name;
            },
          ),
      );
      await new Promise((resolve) => setTimeout(resolve, args.every));
    }
    await Promise.all(sent);
    return { answered, failed };
  },
};

function requireClient(): TetherClient {
  if (!client) throw new Error("no client yet: send `client` first");
  return client;
}

process.on("message", async (message: { id: number; command: string; args: never }) => {
  const command = commands[message.command];
  try {
    if (!command) throw new Error(`unknown command ${message.command}`);
    send({ reply: message.id, value: await command(message.args) });
  } catch (error) {
    send({ reply: message.id, error: String(error) });
  }
});
// The lab kills this process; never outlive the test run that started it.
process.on("disconnect", () => process.exit(0));
