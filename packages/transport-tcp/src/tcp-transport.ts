import * as net from "node:net";
import * as nodeTls from "node:tls";
import {
  type Clock,
  type Connection,
  type ConnectionOptions,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_HIGH_WATER_MARK,
  DialError,
  type DialOptions,
  formatHostPort,
  guardDial,
  type Listener,
  type ListenOptions,
  parseSocketAddress,
  type SocketAddress,
  systemClock,
  type Transport,
} from "@tether/core";
import { TcpConnection, tcpPeerKey } from "./tcp-connection.js";

export interface TcpTransportOptions {
  /** Largest frame accepted or sent. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Send-queue bytes above which `send()` returns false. Default 64 KiB. */
  highWaterMark?: number;
  /** Bound on a graceful close before it becomes an abort. Default 5000 ms. */
  closeTimeout?: number;
  /**
   * TLS listeners: a TLS handshake not finished this long after the TCP accept is cut off.
   * Default 10 s; a server's `listen` uses its own `handshakeTimeout` instead.
   */
  handshakeTimeout?: number;
  clock?: Clock;
}

export interface TlsTransportOptions extends TcpTransportOptions {
  /** Listening side: at least `key` and `cert`. */
  server?: nodeTls.TlsOptions;
  /** Dialing side: `ca`, `servername`, client certificates... */
  client?: nodeTls.ConnectionOptions;
}

/** The TCP transport: `dial("127.0.0.1:4000")`, `listen("127.0.0.1:0")`, or Unix socket paths. */
export function tcp(options: TcpTransportOptions = {}): Transport {
  return new StreamTransport("tcp", options, undefined);
}

/** The same transport over TLS, with the same addresses and frames. */
export function tls(options: TlsTransportOptions): Transport {
  return new StreamTransport("tls", options, { server: options.server ?? {}, client: options.client ?? {} });
}

class StreamTransport implements Transport {
  readonly #connectionOptions: ConnectionOptions;
  readonly #clock: Clock;

  constructor(
    readonly name: string,
    readonly options: TcpTransportOptions,
    private readonly tlsOptions:
      | { server: nodeTls.TlsOptions; client: nodeTls.ConnectionOptions }
      | undefined,
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#connectionOptions = { ...options, clock: this.#clock };
  }

  dial(address: string, options: DialOptions = {}): Promise<Connection> {
    let target: SocketAddress;
    try {
      target = parseSocketAddress(address);
    } catch (error) {
      return Promise.reject(new DialError(`bad address "${address}"`, { cause: error }));
    }
    let socket: net.Socket | undefined;
    const attempt = new Promise<Connection>((resolve, reject) => {
      const streamOptions = { writableHighWaterMark: this.#highWaterMark() };
      const s = this.tlsOptions
        ? nodeTls.connect({ ...streamOptions, ...this.tlsOptions.client, ...target })
        : net.connect({ ...streamOptions, ...target });
      socket = s;
      s.once(this.tlsOptions ? "secureConnect" : "connect", () => {
        s.removeAllListeners("error");
        resolve(new TcpConnection(s, this.name, this.#connectionOptions));
      });
      s.once("error", (error) =>
        reject(new DialError(`cannot reach ${address}: ${error.message}`, { cause: error })),
      );
    });
    return guardDial(attempt, () => socket?.destroy(), options, this.#clock);
  }

  async listen(
    address: string,
    onConnection: (connection: Connection) => void,
    options: ListenOptions = {},
  ): Promise<Listener> {
    const target = parseSocketAddress(address);
    // Each connection leaves this set as it closes: no listener on it, which idle ones would keep.
    const connections = new Set<TcpConnection>();
    const handshaking = new Set<net.Socket>();
    const accept = (socket: net.Socket, handshakeMs: number) => {
      const options = { ...this.#connectionOptions, handshakeMs };
      onConnection(new TcpConnection(socket, this.name, options, connections));
    };
    const secureContext = this.tlsOptions && nodeTls.createSecureContext(this.tlsOptions.server);
    const admission = options.admission;
    const handshakeTimeout =
      admission?.handshakeTimeout ?? this.options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const onSocket = (raw: net.Socket) => {
      if (secureContext === undefined) return accept(raw, 0);
      // TLS is layered by hand over the accepted TCP socket, so a listener can count, bound and
      // cancel handshakes from the accept: a stalled handshake holds a descriptor like a connection.
      raw.on("error", () => {});
      const release = admission === undefined ? () => {} : admission.admit(tcpPeerKey(raw));
      if (release === undefined) {
        raw.destroy();
        return;
      }
      const acceptedAt = this.#clock.now();
      const deadline = this.#clock.setTimeout(() => raw.destroy(), handshakeTimeout);
      const settle = () => {
        this.#clock.clearTimeout(deadline);
        handshaking.delete(raw);
        release();
      };
      const secure = new nodeTls.TLSSocket(raw, {
        ...this.tlsOptions?.server,
        isServer: true,
        secureContext,
      });
      handshaking.add(raw);
      raw.once("close", settle);
      secure.once("secure", () => {
        raw.off("close", settle);
        settle();
        secure.removeAllListeners("error");
        accept(secure, this.#clock.now() - acceptedAt);
      });
      // A failed handshake concerns that socket only.
      secure.once("error", () => raw.destroy());
    };
    const server = net.createServer({ highWaterMark: this.#highWaterMark() }, onSocket);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(target, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", () => {});
    const bound = server.address();
    const boundAddress = typeof bound === "string" ? bound : formatHostPort(bound?.address, bound?.port);
    let closing: Promise<void> | undefined;
    return {
      address: boundAddress,
      close: () => {
        closing ??= (async () => {
          const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
          for (const raw of handshaking) raw.destroy();
          await Promise.all([...connections].map((c) => c.close()));
          await serverClosed;
        })();
        return closing;
      },
    };
  }

  #highWaterMark(): number {
    return this.options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  }
}
