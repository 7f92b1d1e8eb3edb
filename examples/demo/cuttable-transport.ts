import type { CloseInfo, Connection, ConnectionEvents, DialOptions, Listener, Transport } from "@tether/core";
import { EventEmitter } from "eventemitter3";

/**
 * Wraps a real transport's dialing side with a cable that can be pulled: while `cut`, frames
 * vanish both ways, new dials never complete, and nobody hears a close. Exactly what a dead
 * link looks like to TCP, on real sockets, so the demo can show heartbeats at work.
 */
export class CuttableTransport implements Transport {
  #cut = false;
  readonly #live = new Set<CuttableConnection>();

  constructor(private readonly inner: Transport) {}

  get name(): string {
    return this.inner.name;
  }

  get cut(): boolean {
    return this.#cut;
  }

  /** Pulls (true) or re-plugs (false) the cable. */
  set cut(cut: boolean) {
    this.#cut = cut;
    if (!cut) for (const connection of this.#live) connection.reap();
  }

  async dial(address: string, options: DialOptions = {}): Promise<Connection> {
    if (this.cut) {
      // The SYN goes nowhere: wait for the caller's timeout or abort.
      return new Promise((_resolve, reject) => {
        const fail = () => reject(options.signal?.reason ?? new Error("aborted"));
        options.signal?.addEventListener("abort", fail, { once: true });
        if (options.connectTimeout !== undefined) {
          setTimeout(() => reject(new Error("connect timed out (cable pulled)")), options.connectTimeout);
        }
      });
    }
    const inner = await this.inner.dial(address, options);
    const connection = new CuttableConnection(inner, this);
    this.#live.add(connection);
    // Live until both ends are done: the real socket, and the close the client hears.
    void Promise.all([inner.closed, connection.closed]).then(() => this.#live.delete(connection));
    return connection;
  }

  listen(address: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    return this.inner.listen(address, onConnection);
  }

  /** Kills every live connection at once (a crash of the link, seen by both ends). */
  killConnections(): void {
    for (const connection of this.#live) if (!connection.detached) connection.abort(new Error("killed"));
  }
}

class CuttableConnection extends EventEmitter<ConnectionEvents> implements Connection {
  readonly closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;
  /** Closed as far as the client knows, while the real socket lingers unheard behind the cut. */
  #detached = false;
  #ended = false;
  /** The real socket closed while the cable was cut: nobody could hear it until it is back. */
  #unheardClose: CloseInfo | undefined;

  constructor(
    private readonly inner: Connection,
    private readonly cable: CuttableTransport,
  ) {
    super();
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    inner.on("frame", (frame) => {
      if (!cable.cut && !this.#detached) this.emit("frame", frame);
    });
    inner.on("readComplete", () => {
      if (!cable.cut && !this.#detached) this.emit("readComplete");
    });
    inner.on("drain", () => this.emit("drain"));
    inner.on("close", (info) => {
      if (cable.cut && !this.#detached) this.#unheardClose = info;
      else this.#end(info);
    });
  }
  get transport() {
    return this.inner.transport;
  }
  get status() {
    if (this.#ended) return "closed";
    return this.#unheardClose === undefined ? this.inner.status : "open";
  }
  get localAddress() {
    return this.inner.localAddress;
  }
  get remoteAddress() {
    return this.inner.remoteAddress;
  }
  get peerKey() {
    return this.inner.peerKey;
  }
  get bufferedAmount() {
    return this.inner.bufferedAmount;
  }
  send(frame: Uint8Array): boolean {
    return this.cable.cut ? true : this.inner.send(frame);
  }
  close(): Promise<CloseInfo> {
    if (this.cable.cut) {
      this.#detach();
      return this.closed;
    }
    void this.inner.close();
    return this.closed;
  }
  abort(error?: Error): void {
    if (this.cable.cut) this.#detach();
    else this.inner.abort(error);
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  /**
   * The cable is back: a connection we gave up on is finally dropped for real, and one whose
   * peer closed it meanwhile hears so now (as a reset on its next packet would tell it).
   */
  reap(): void {
    if (this.#detached) this.inner.abort();
    else if (this.#unheardClose !== undefined) this.#end(this.#unheardClose);
  }
  get detached(): boolean {
    return this.#detached;
  }

  /** Nothing can cross a pulled cable, not even a FIN: close on this side only. */
  #detach(): void {
    this.#detached = true;
    this.#end({ local: true });
  }

  #end(info: CloseInfo): void {
    if (this.#ended) return;
    this.#ended = true;
    this.emit("close", info);
    this.#resolveClosed(info);
  }
}
