import type * as http from "node:http";
import { createServer as createHttpServer } from "node:http";
import type { Duplex } from "node:stream";
import type { ConnectionOptions as ConnectionOptions_ } from "node:tls";
import {
  type Clock,
  type Connection,
  type ConnectionOptions,
  DEFAULT_MAX_FRAME_BYTES,
  DialError,
  type DialOptions,
  guardDial,
  InvalidArgumentError,
  type Listener,
  systemClock,
  type Transport,
} from "@tether/core";
import { WebSocket, WebSocketServer } from "ws";
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
  clock?: Clock;
}

function connectionOptions(options: WebSocketTransportOptions): ConnectionOptions {
  const { maxFrameBytes, highWaterMark, lowWaterMark, closeTimeout } = options;
  return {
    maxFrameBytes: maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    ...(highWaterMark === undefined ? {} : { highWaterMark }),
    ...(lowWaterMark === undefined ? {} : { lowWaterMark }),
    ...(closeTimeout === undefined ? {} : { closeTimeout }),
    clock: options.clock ?? systemClock,
  };
}

function hostPort(address: string | undefined, port: number | undefined): string {
  if (address === undefined || port === undefined) return "unknown";
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Accepts WebSocket upgrades and turns them into Tether connections: the piece shared by the
 * standalone listener, `attachWebSocket` and `webSocketUpgradeHandler`.
 */
export class WebSocketAcceptor {
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<WsConnection>();
  readonly #options: WebSocketTransportOptions;
  #closing: Promise<void> | undefined;

  constructor(
    options: WebSocketTransportOptions,
    private readonly onConnection: (connection: Connection) => void,
  ) {
    this.#options = options;
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
      const local = hostPort(request.socket.localAddress, request.socket.localPort);
      const remote = hostPort(request.socket.remoteAddress, request.socket.remotePort);
      const connection = new WsConnection(ws, local, remote, connectionOptions(this.#options));
      this.#connections.add(connection);
      void connection.closed.then(() => this.#connections.delete(connection));
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
}

function pathOf(url: string | undefined): string {
  return new URL(url ?? "/", "http://localhost").pathname;
}

function urlFor(server: http.Server, path: string, secure: boolean): string {
  const bound = server.address();
  if (bound === null || typeof bound === "string") return `${secure ? "wss" : "ws"}+unix://${bound}${path}`;
  return `${secure ? "wss" : "ws"}://${hostPort(bound.address, bound.port)}${path}`;
}

export interface AttachOptions extends WebSocketTransportOptions {
  /** Only upgrades to this path are taken; others are left to the server's other handlers. Default `/`. */
  path?: string;
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
  const path = options.path ?? "/";
  const acceptor = new WebSocketAcceptor(options, onConnection);
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(request.url) === path) acceptor.handleUpgrade(request, socket, head);
  };
  server.on("upgrade", onUpgrade);
  return {
    get address() {
      return urlFor(server, path, "setSecureContext" in server);
    },
    close: async () => {
      server.off("upgrade", onUpgrade);
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
      socket.once("upgrade", (response) => {
        local = hostPort(response.socket.localAddress, response.socket.localPort);
      });
      socket.once("open", () => {
        socket.removeAllListeners("error");
        socket.removeAllListeners("unexpected-response");
        const remote = new URL(address).host;
        resolve(new WsConnection(socket, local, remote, connectionOptions(this.options)));
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

  async listen(address: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    const match = /^(?:\[([^\]]+)\]|([^:/]+)):(\d+)$/.exec(address);
    const host = match?.[1] ?? match?.[2];
    if (host === undefined) throw new InvalidArgumentError(`expected host:port, got "${address}"`);
    const server = createHttpServer((_request, response) => {
      response.writeHead(426, { "Content-Type": "text/plain", Connection: "close" });
      response.end("This port speaks Tether over WebSocket.\n");
    });
    const attached = attachWebSocket(server, this.options, onConnection);
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
