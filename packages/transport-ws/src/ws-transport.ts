import type * as http from "node:http";
import { createServer as createHttpServer } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionOptions as ConnectionOptions_ } from "node:tls";
import {
  type Admission,
  type Clock,
  type Connection,
  type ConnectionOptions,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_FRAME_BYTES,
  DialError,
  type DialOptions,
  formatHostPort,
  guardDial,
  InvalidArgumentError,
  type Listener,
  type ListenOptions,
  systemClock,
  type Transport,
} from "@tether/core";
import { WebSocket, WebSocketServer } from "ws";
import { HandshakeGate } from "./handshake-gate.js";
import { maxPayloadFor } from "./message-framing.js";
import { WsConnection } from "./ws-connection.js";

export interface WebSocketTransportOptions {
  /** Largest Tether frame; the WebSocket `maxPayload` is this plus 4. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Send-queue bytes above which `send()` returns false. Default 64 KiB. */
  highWaterMark?: number;
  /** Queue size at or below which `drain` follows. Default half the high-water mark. */
  lowWaterMark?: number;
  /** Bound on a graceful close before it becomes an abort. Default 5000 ms. */
  closeTimeout?: number;
  /** Off by default: compression costs CPU per frame and opens decompression-bomb risks. */
  perMessageDeflate?: boolean;
  /**
   * Listening side: decides whether an upgrade's `Origin` header is allowed; refused ones get
   * HTTP 403 and never become connections. Default: every origin.
   */
  verifyOrigin?: (origin: string | undefined, request: http.IncomingMessage) => boolean;
  /** Dialing side: extra headers for the upgrade request (Node only). */
  headers?: Record<string, string>;
  /** Dialing side, `wss://`: TLS options such as `ca` and `servername` (Node only). */
  tls?: ConnectionOptions_;
  /**
   * Listening side: how long after the TCP accept a standalone listener's socket may take to
   * upgrade, an https server's socket to finish TLS, and an upgrade to a path nobody serves to
   * be taken by another listener. Default 10 s (a server's `admission` brings its own).
   */
  handshakeTimeout?: number;
  clock?: Clock;
}

function connectionOptions(options: WebSocketTransportOptions, handshakeMs = 0): ConnectionOptions {
  const { maxFrameBytes, highWaterMark, lowWaterMark, closeTimeout } = options;
  return {
    maxFrameBytes: maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    ...(highWaterMark === undefined ? {} : { highWaterMark }),
    ...(lowWaterMark === undefined ? {} : { lowWaterMark }),
    ...(closeTimeout === undefined ? {} : { closeTimeout }),
    clock: options.clock ?? systemClock,
    handshakeMs,
  };
}

/**
 * Accepts WebSocket upgrades and turns them into Tether connections: the piece shared by the
 * standalone listener, `attachWebSocket` and `webSocketUpgradeHandler`.
 */
export class WebSocketAcceptor {
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<WsConnection>();
  /** Runs with the closed connection as `this`: one function for all, no closure per connection. */
  readonly #forget: (this: WsConnection) => void;
  readonly #options: WebSocketTransportOptions;
  #closing: Promise<void> | undefined;

  constructor(
    options: WebSocketTransportOptions,
    private readonly onConnection: (connection: Connection) => void,
    /** Set when sockets were seen at their TCP accept: it ends their handshake and says how long it took. */
    private readonly gate?: HandshakeGate,
  ) {
    this.#options = options;
    const connections = this.#connections;
    this.#forget = function () {
      connections.delete(this);
    };
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxPayloadFor(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
      perMessageDeflate: options.perMessageDeflate ?? false,
      clientTracking: false,
    });
  }

  /** Live connections accepted here. */
  get connections(): ReadonlySet<Connection> {
    return this.#connections;
  }

  /** Completes (or refuses) one upgrade: call from an http server's or framework's `upgrade`. */
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => {});
    if (this.#closing !== undefined) {
      refuse(socket, 503, "Service Unavailable");
      return;
    }
    const verify = this.#options.verifyOrigin;
    if (verify !== undefined && !verify(request.headers.origin, request)) {
      refuse(socket, 403, "Forbidden");
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const local = formatHostPort(request.socket.localAddress, request.socket.localPort);
      const remote = formatHostPort(request.socket.remoteAddress, request.socket.remotePort);
      this.gate?.passed(request.socket);
      const handshakeMs = this.gate?.elapsed(request.socket) ?? 0;
      const connection = new WsConnection(
        ws,
        local,
        remote,
        connectionOptions(this.#options, handshakeMs),
        socket,
      );
      this.#connections.add(connection);
      connection.once("close", this.#forget, connection);
      this.onConnection(connection);
    });
  }

  /** Refuses new upgrades and closes every accepted connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#connections].map((c) => c.close()));
      await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    })();
    return this.#closing;
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  // A peer that never reads the answer must not keep the socket: end() waits for it to drain.
  socket.once("finish", () => socket.destroy());
}

function pathOf(url: string | undefined): string {
  return new URL(url ?? "/", "http://localhost").pathname;
}

function urlFor(server: http.Server, path: string, secure: boolean): string {
  const bound = server.address();
  if (bound === null || typeof bound === "string") return `${secure ? "wss" : "ws"}+unix://${bound}${path}`;
  return `${secure ? "wss" : "ws"}://${formatHostPort(bound.address, bound.port)}${path}`;
}

export interface AttachOptions extends WebSocketTransportOptions {
  /**
   * Only upgrades to this path are taken. An upgrade to another path is left to the server's
   * other `upgrade` listeners; if there are none it gets HTTP 404 at once, and if none of them
   * has answered it within `handshakeTimeout` it gets 404 then. Default `/`.
   */
  path?: string;
  /**
   * A Tether server's `admission` (its connection limits and handshake deadline). On an https
   * server they apply from the TCP accept to the end of the TLS handshake, so stalled TLS
   * handshakes cannot hold descriptors; without it, TLS handshakes still get `handshakeTimeout`.
   */
  admission?: Admission;
}

/**
 * Serves Tether on an existing `http`/`https` server, beside its HTTP routes, on one path.
 * Closing the listener leaves the HTTP server running.
 */
export function attachWebSocket(
  server: http.Server,
  options: AttachOptions,
  onConnection: (connection: Connection) => void,
): Listener {
  return attach(server, options, onConnection, "https-only");
}

/**
 * `gating`: which sockets are held to the deadline and limits from their TCP accept: none,
 * those of an https server until TLS is done ("https-only"), or every socket until it upgrades
 * ("until-upgrade": a listener that serves only Tether, where other paths are refused at once).
 */
function attach(
  server: http.Server,
  options: AttachOptions,
  onConnection: (connection: Connection) => void,
  gating: "https-only" | "until-upgrade",
): Listener {
  const path = options.path ?? "/";
  const clock = options.clock ?? systemClock;
  const timeout =
    options.admission?.handshakeTimeout ?? options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const secure = "setSecureContext" in server;
  const gate =
    secure || gating === "until-upgrade" ? new HandshakeGate(options.admission, timeout, clock) : undefined;
  const acceptor = new WebSocketAcceptor(options, onConnection, gate);
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(request.url) === path) {
      acceptor.handleUpgrade(request, socket, head);
      return;
    }
    if (gating === "until-upgrade" || server.listenerCount("upgrade") === 1) {
      socket.on("error", () => {});
      refuse(socket, 404, "Not Found");
      return;
    }
    // Another upgrade listener may take it; if none has answered in time, nobody will.
    const unclaimed = clock.setTimeout(() => {
      if (!socket.destroyed && (socket as Socket).bytesWritten === 0) refuse(socket, 404, "Not Found");
    }, timeout);
    socket.once("close", () => clock.clearTimeout(unclaimed));
  };
  server.on("upgrade", onUpgrade);
  if (gate !== undefined) server.on("connection", gate.accepted);
  if (gate !== undefined && secure) server.on("secureConnection", gate.passed);
  return {
    get address() {
      return urlFor(server, path, secure);
    },
    close: async () => {
      server.off("upgrade", onUpgrade);
      if (gate !== undefined) {
        server.off("connection", gate.accepted);
        server.off("secureConnection", gate.passed);
      }
      await acceptor.close();
    },
  };
}

/**
 * For frameworks that own the upgrade (Express, Fastify, Koa...): returns an acceptor whose
 * `handleUpgrade(request, socket, head)` they call.
 */
export function webSocketUpgradeHandler(
  options: WebSocketTransportOptions,
  onConnection: (connection: Connection) => void,
): WebSocketAcceptor {
  return new WebSocketAcceptor(options, onConnection);
}

/**
 * The WebSocket transport. `dial("ws://host:port/path")`; `listen("127.0.0.1:0")` starts a
 * standalone server whose plain HTTP requests get 426 Upgrade Required.
 */
export function webSocket(options: WebSocketTransportOptions = {}): Transport {
  return new WebSocketTransport(options);
}

class WebSocketTransport implements Transport {
  readonly name = "ws";
  constructor(private readonly options: WebSocketTransportOptions) {}

  dial(address: string, dialOptions: DialOptions = {}): Promise<Connection> {
    let ws: WebSocket | undefined;
    const attempt = new Promise<Connection>((resolve, reject) => {
      try {
        ws = new WebSocket(address, {
          maxPayload: maxPayloadFor(this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
          perMessageDeflate: this.options.perMessageDeflate ?? false,
          ...(this.options.headers === undefined ? {} : { headers: this.options.headers }),
          ...this.options.tls,
        });
      } catch (error) {
        reject(new DialError(`bad WebSocket address "${address}"`, { cause: error }));
        return;
      }
      const socket = ws;
      let local = "unknown";
      let reads: Duplex | undefined;
      socket.once("upgrade", (response) => {
        reads = response.socket;
        local = formatHostPort(response.socket.localAddress, response.socket.localPort);
      });
      socket.once("open", () => {
        socket.removeAllListeners("error");
        socket.removeAllListeners("unexpected-response");
        const remote = new URL(address).host;
        resolve(new WsConnection(socket, local, remote, connectionOptions(this.options), reads));
      });
      socket.once("error", (error) =>
        reject(new DialError(`cannot reach ${address}: ${error.message}`, { cause: error })),
      );
      socket.once("unexpected-response", (_request, response) => {
        reject(new DialError(`${address} refused the upgrade with HTTP ${response.statusCode}`));
        socket.terminate();
      });
    });
    return guardDial(attempt, () => ws?.terminate(), dialOptions, this.options.clock ?? systemClock);
  }

  async listen(
    address: string,
    onConnection: (connection: Connection) => void,
    listenOptions: ListenOptions = {},
  ): Promise<Listener> {
    const match = /^(?:\[([^\]]+)\]|([^:/]+)):(\d+)$/.exec(address);
    const host = match?.[1] ?? match?.[2];
    if (host === undefined) throw new InvalidArgumentError(`expected host:port, got "${address}"`);
    const server = createHttpServer((_request, response) => {
      response.writeHead(426, { "Content-Type": "text/plain", Connection: "close" });
      response.end("This port speaks Tether over WebSocket.\n");
    });
    const attachOptions: AttachOptions =
      listenOptions.admission === undefined
        ? this.options
        : { ...this.options, admission: listenOptions.admission };
    const attached = attach(server, attachOptions, onConnection, "until-upgrade");
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(Number(match?.[3]), host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    let closing: Promise<void> | undefined;
    return {
      address: attached.address,
      close: () => {
        closing ??= (async () => {
          const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
          await attached.close();
          server.closeAllConnections();
          await serverClosed;
        })();
        return closing;
      },
    };
  }
}
