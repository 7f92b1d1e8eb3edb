import {
  type ChannelHandler,
  CloseCode,
  createClient,
  createServer,
  IncomingRequest,
  ManualClock,
  MemorySessionStore,
  MessageType,
  OutgoingReply,
  RequestError,
  type ServerOptions,
  ServerPipeline,
  SessionExpiredError,
  type SessionStore,
  type TetherClient,
  type TetherServer,
} from "@tether/core";
import { createMemoryNetwork, type MemoryNetwork } from "@tether/transport-memory";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { afterEach, describe, expect, it } from "vitest";
import { RawSession } from "../support/raw-session.js";

const T = 6000;
const TICK = 1000;

let clock: ManualClock;
let network: MemoryNetwork;
let server: TetherServer;
const clients: TetherClient[] = [];

async function advance(ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 50) await clock.advanceAsync(Math.min(50, left));
}

async function start(options: ServerOptions = {}, addresses = ["s1"]): Promise<void> {
  clock = new ManualClock();
  network = createMemoryNetwork({ clock });
  server = createServer({ clock, tickTime: TICK, ...options });
  for (const address of addresses) await server.listen(network.transport(), address);
}

function client(
  options: { servers?: string[]; timeout?: number; clientExpiry?: boolean; credentials?: unknown } = {},
) {
  const c = createClient({
    servers: (options.servers ?? ["s1"]).map((address) => ({ transport: network.transport(), address })),
    timeout: options.timeout ?? T,
    clock,
    random: () => 0.5, // keeps the order of two servers; backoff is half its ceiling
    ...(options.clientExpiry === undefined ? {} : { clientExpiry: options.clientExpiry }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  clients.push(c);
  return c;
}

afterEach(async () => {
  network?.heal();
  let done = false;
  const closing = Promise.all([...clients.splice(0).map((c) => c.close()), server?.close()]).finally(() => {
    done = true;
  });
  for (let i = 0; i < 100 && !done; i++) await clock.advanceAsync(TICK);
  await closing;
});

describe("server pipeline customisation", () => {
  it("runs user handlers before the codec (frames) and between session and dispatch (requests)", async () => {
    let frames = 0;
    const countFrames: ChannelHandler = {
      channelRead: (ctx, message) => {
        frames++;
        ctx.fireRead(message);
      },
    };
    const refuseSecrets: ChannelHandler = {
      channelRead: (ctx, message) => {
        if (message instanceof IncomingRequest && message.op === "secret") {
          message.fail(new RequestError("forbidden", "not for you"));
          return;
        }
        ctx.fireRead(message);
      },
    };
    await start({
      configurePipeline: (pipeline) => {
        pipeline.addBefore("codec", "frames", countFrames);
        pipeline.addAfter("session", "policy", refuseSecrets);
      },
    });
    server.handle("secret", () => "leaked").handle("open", () => "fine");
    const c = client();
    await advance(1);
    expect(await c.request("open")).toBe("fine");
    await expect(c.request("secret")).rejects.toMatchObject({ code: "forbidden" });
    await expect(c.request("nope")).rejects.toMatchObject({ code: "unknown-op" });
    expect(frames).toBeGreaterThanOrEqual(4); // hello + three requests
  });
});

describe("a symmetric pipeline", () => {
  it("a handler between session and dispatch sees each reply go down, and can change it", async () => {
    const seen: string[] = [];
    const replies: ChannelHandler = {
      write(ctx, message) {
        if (message instanceof OutgoingReply) {
          seen.push(`${message.request.op}:${JSON.stringify(message.response)}`);
          if (message.response.type === MessageType.Response && message.request.op === "shout") {
            message.response.body = String(message.response.body).toUpperCase();
          }
        }
        ctx.write(message);
      },
    };
    await start({
      configurePipeline: (pipeline) => pipeline.addBefore(ServerPipeline.dispatch, "replies", replies),
    });
    server.handle("shout", (body) => body);
    const c = client();
    await advance(1);
    expect(await c.request("shout", "hi")).toBe("HI");
    await expect(c.request("nope")).rejects.toMatchObject({ code: "unknown-op" });
    expect(seen).toEqual([
      'shout:{"type":6,"seq":1,"body":"hi"}',
      'nope:{"type":7,"seq":2,"code":"unknown-op","message":"no handler for op \\"nope\\""}',
    ]);
  });

  it("a request-level handler that drops requests does not hold the connection's in-flight count", async () => {
    const dropper: ChannelHandler = {
      channelRead(ctx, message) {
        if (message instanceof IncomingRequest && message.op === "dropped") return; // never answered
        ctx.fireRead(message);
      },
    };
    await start({
      maxInFlightPerConnection: 4,
      maxInFlightPerSession: 4,
      configurePipeline: (pipeline) => pipeline.addAfter(ServerPipeline.session, "dropper", dropper),
    });
    server.handle("echo", (body) => body);
    const c = client();
    await advance(1);
    for (let i = 0; i < 8; i++) void c.request("dropped").catch(() => {});
    await advance(1);
    const answer = c.request("echo", "still read");
    await advance(100);
    expect(await answer).toBe("still read");
    expect(server.metrics().readPauses).toBe(0);
  });
});

describe("request handlers", () => {
  it("see their signal aborted when the session ends while they run", async () => {
    await start();
    let seen: AbortSignal | undefined;
    server.handle("wait", (_body, { signal }) => {
      seen = signal;
      return new Promise(() => {});
    });
    const c = client();
    await advance(1);
    const outcome = c.request("wait").catch((error: unknown) => error);
    await advance(1);
    expect(seen?.aborted).toBe(false);
    await c.close();
    expect(seen?.aborted).toBe(true);
    expect(await outcome).toBeInstanceOf(Error);
  });
});

describe("server authentication", () => {
  it("gives refused clients auth-failed (final) and creates no session", async () => {
    await start({ authenticate: (credentials) => (credentials === "good" ? { user: "ann" } : false) });
    const bad = client({ credentials: "bad" });
    await advance(10);
    expect(bad.state).toBe("auth-failed");
    expect([...server.sessions()]).toHaveLength(0);
    const good = client({ credentials: "good" });
    await advance(10);
    expect(good.state).toBe("connected");
    expect(server.getSession(good.sessionId as string)?.principal).toEqual({ user: "ann" });
  });
});

describe("abandoned handshakes", () => {
  it("a session opened for a client that gave up before its Welcome ends without an expire event", async () => {
    let letIn: (principal: unknown) => void = () => {};
    await start({ authenticate: () => new Promise((resolve) => (letIn = resolve)) });
    const expired: string[] = [];
    server.on("expire", (session) => expired.push(session.id));
    const raw = await RawSession.dial(network.transport(), "s1");
    raw.hello({ timeout: T });
    await advance(10);
    raw.connection.abort(); // the client gives up while authenticate runs
    await advance(10);
    letIn({ user: "ann" });
    await advance(3 * TICK);
    expect(server.store.size).toBe(0); // the session it made is gone...
    expect(expired).toEqual([]); // ...and no client ever held it, so nobody is told it expired
    expect(server.metrics().sessions).toBe(0);
  });
});

describe("session store failures", () => {
  it("send a client that could not open its session away (4007) to retry, not auth-failed", async () => {
    let failures = 1;
    await start({
      sessionStore: (context) => {
        // A shared store's open may fail (Redis unreachable); this one fails once.
        const store: SessionStore = new MemorySessionStore(context);
        const open = store.open.bind(store);
        store.open = (timeout, principal) => {
          if (failures-- > 0) return Promise.reject(new Error("store unreachable"));
          return open(timeout, principal);
        };
        return store;
      },
    });
    const states: string[] = [];
    const c = client();
    c.on("state", (state) => states.push(state));
    await advance(10);
    expect(server.metrics().goodbyes[CloseCode.GoingAway]).toBe(1);
    await advance(1000);
    expect(c.state).toBe("connected");
    expect(states).not.toContain("auth-failed");
  });
});

describe("buffer bounds", () => {
  it("ends a session whose unacknowledged pushes outgrow maxReplay, with a clear reason", async () => {
    await start({ maxReplay: 5 });
    const ended: string[] = [];
    server.on("expire", (_s, reason) => ended.push(reason));
    const c = client();
    await advance(10);
    const session = [...server.sessions()][0];
    network.partition("s1"); // the client can neither receive nor acknowledge
    for (let i = 0; i < 5; i++) session?.push("t", i);
    expect(() => session?.push("t", 5)).toThrow(SessionExpiredError);
    expect(ended).toEqual(["buffer-overflow"]);
    network.heal("s1");
    await advance(2 * T);
    expect(c.state).toBe("expired");
  });
});

describe("server close", () => {
  it("with endSessions true, ends sessions, running expire listeners", async () => {
    await start();
    const ended: string[] = [];
    server.on("expire", (_s, reason) => ended.push(reason));
    const c = client();
    await advance(10);
    await server.close({ endSessions: true });
    await advance(10);
    expect(ended).toEqual(["closed"]);
    expect(c.state).toBe("expired");
  });

  it("by default, tells clients to go away (4007) and keeps their sessions", async () => {
    await start();
    const ended: string[] = [];
    server.on("expire", (_s, reason) => ended.push(reason));
    const c = client({ clientExpiry: false });
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    await advance(10);
    await server.close();
    await advance(10);
    expect(server.metrics().goodbyes[CloseCode.GoingAway]).toBe(1);
    expect(ended).toEqual([]);
    expect(states).toEqual(["connected", "disconnected"]);
  });
});

describe("client reconnection", () => {
  it("tries servers in order with connectTimeout T/n, and never reports a state twice in a row", async () => {
    await start({}, ["s1", "s2"]);
    network.partition("s1");
    const c = client({ servers: ["s1", "s2"] });
    const states: Array<[string, number]> = [];
    c.on("state", (s) => states.push([s, clock.now()]));
    await advance(T);
    // s1 hangs for T/2 (connectTimeout with two servers), then s2 answers.
    expect(states).toEqual([["connected", T / 2]]);
    network.heal("s1");
    // Drop s2: the client goes to the other server first.
    network.partition("s2");
    await advance(T);
    expect(states.map(([s]) => s)).toEqual(["connected", "disconnected", "connected"]);
    const session = server.getSession(c.sessionId as string);
    expect(session?.connected).toBe(true);
    for (let i = 1; i < states.length; i++) expect(states[i]?.[0]).not.toBe(states[i - 1]?.[0]);
  });

  it("backs off from a server that welcomes and drops at once, instead of looping", async () => {
    let accepted = 0;
    await start({
      configurePipeline: (_pipeline, channel) => {
        accepted++;
        // Drop every connection right after the server's first frame (the Welcome) goes out.
        const send = channel.connection.send.bind(channel.connection);
        channel.connection.send = (frame: Uint8Array) => {
          const ok = send(frame);
          setImmediate(() => channel.connection.abort());
          return ok;
        };
      },
    });
    client({ clientExpiry: false });
    await advance(3000);
    // Backoff (initial 100 ms, doubling, capped at 10 s; random 0.5 halves it) allows about six
    // attempts in 3 s; a tight loop would make thousands.
    expect(accepted).toBeGreaterThan(2);
    expect(accepted).toBeLessThan(12);
  });

  it("declares the session expired 4T/3 after last hearing from a server", async () => {
    await start();
    const c = client();
    await advance(10);
    let expiredAt = -1;
    c.on("state", (s) => {
      if (s === "expired") expiredAt = clock.now();
    });
    await advance(T / 3 + 1); // a ping and its pong
    network.partition("s1");
    const cut = clock.now();
    await advance(2 * T);
    expect(expiredAt).toBeGreaterThan(cut);
    expect(expiredAt - cut).toBeLessThanOrEqual((4 * T) / 3);
    expect(expiredAt - cut).toBeGreaterThan((4 * T) / 3 - T / 3 - 1);
  });
});

describe("one session table across transports", () => {
  it("resumes over TCP a session opened over WebSocket", async () => {
    const real = createServer({ tickTime: 100 });
    try {
      const ws = await real.listen(webSocket(), "127.0.0.1:0");
      const plain = await real.listen(tcp(), "127.0.0.1:0");
      const first = await RawSession.dial(webSocket(), ws.address);
      first.hello({ timeout: 2000 });
      const welcome = await first.waitFor((m) => m[0] === MessageType.Welcome);
      const [, id, password] = welcome as [number, string, Uint8Array];
      const second = await RawSession.dial(tcp(), plain.address);
      second.hello({ sessionId: id, password });
      const resumed = await second.waitFor((m) => m[0] === MessageType.Welcome);
      expect(resumed.slice(0, 2)).toEqual([MessageType.Welcome, id]);
      expect(resumed[4]).toBe(true);
      await first.waitFor((m) => m[0] === MessageType.Goodbye);
      expect(first.goodbyeCode()).toBe(CloseCode.SessionMoved);
      expect(real.getSession(id)?.transport).toBe("tcp");
      second.connection.abort();
    } finally {
      await real.close();
    }
  });
});
