import {
  type Clock,
  type Connection,
  type ConnectionOptions,
  DialError,
  type DialOptions,
  guardDial,
  type Listener,
  systemClock,
  type Transport,
} from "@tether/core";
import { MemoryConnection } from "./memory-connection.js";
import { Pipe } from "./pipe.js";

export interface MemoryNetworkOptions {
  /** Source of time for latency and close timeouts. Default `systemClock`. */
  clock?: Clock;
  /** Source of randomness for drops. Default `Math.random`. */
  random?: () => number;
}

export interface MemoryTransportOptions {
  maxFrameBytes?: number;
  highWaterMark?: number;
  lowWaterMark?: number;
  closeTimeout?: number;
  /** This side's address as its peers see it. Default `anonymous-N`. */
  address?: string;
}

/** A pair of connected ends and the faults that can be injected between them. */
export class MemoryLink {
  readonly #toServer: Pipe;
  readonly #toClient: Pipe;

  constructor(
    readonly client: MemoryConnection,
    readonly server: MemoryConnection,
    clock: Clock,
    random: () => number,
    /** True while either end's address is partitioned: link-level heals must wait for that. */
    private readonly partitioned: () => boolean = () => false,
  ) {
    this.#toServer = new Pipe(
      clock,
      random,
      (p) => server.onPacket(p),
      () => server.onDeliveryEnd(),
      () => client.onOutgoingDelivered(),
      () => server.onProgress(),
    );
    this.#toClient = new Pipe(
      clock,
      random,
      (p) => client.onPacket(p),
      () => client.onDeliveryEnd(),
      () => server.onOutgoingDelivered(),
      () => client.onProgress(),
    );
    client.attach(this.#toServer, this.#toClient);
    server.attach(this.#toClient, this.#toServer);
  }

  /** Frames vanish both ways, and neither end hears a thing: a pulled cable. */
  blackHole(): void {
    for (const pipe of this.#pipes()) {
      pipe.blackHoled = true;
      pipe.discard();
    }
  }

  /**
   * Undoes `blackHole()`: frames sent from now on arrive again. A link whose address is
   * partitioned stays cut until the partition heals.
   */
  heal(): void {
    if (this.partitioned()) return;
    for (const pipe of this.#pipes()) pipe.blackHoled = false;
  }

  get blackHoled(): boolean {
    return this.#toServer.blackHoled;
  }

  /**
   * Limits each direction to `bytesPerSecond` (0: unlimited): a frame arrives whole when its
   * last byte would, and meanwhile its receiver hears that bytes are arriving (`readProgress`),
   * as on a slow real link.
   */
  setBandwidth(bytesPerSecond: number): void {
    for (const pipe of this.#pipes()) pipe.bytesPerSecond = bytesPerSecond;
  }

  /** Adds `ms` of one-way latency in both directions (from the network's clock). */
  setLatency(ms: number): void {
    for (const pipe of this.#pipes()) pipe.latency = ms;
  }

  /** Drops each frame with probability `rate` (0..1), both ways. */
  setDropRate(rate: number): void {
    for (const pipe of this.#pipes()) pipe.dropRate = rate;
  }

  /** Both ends close at once with an error, like a TCP reset. */
  reset(error: Error = new Error("link reset")): void {
    this.client.resetByLink(error);
    this.server.resetByLink(error);
  }

  #pipes(): Pipe[] {
    return [this.#toServer, this.#toClient];
  }
}

/**
 * An in-process network. Each network is its own world (no module-global registry): listeners
 * bind names, dialers reach them, and every link can be faulted. Partitions apply per address
 * to existing links and to new dials, which then hang as they would on a real network.
 */
export class MemoryNetwork {
  readonly clock: Clock;
  readonly #random: () => number;
  readonly #listeners = new Map<
    string,
    { accept: (c: MemoryConnection) => void; options: ConnectionOptions }
  >();
  readonly #links = new Set<MemoryLink>();
  readonly #partitioned = new Set<string>();
  #anonymous = 0;

  constructor(options: MemoryNetworkOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
  }

  /** A transport on this network. */
  transport(options: MemoryTransportOptions = {}): Transport {
    return new MemoryTransport(this, options);
  }

  /** Live links, optionally only those with an end at `address`. */
  links(address?: string): MemoryLink[] {
    const all = [...this.#links];
    return address === undefined
      ? all
      : all.filter((l) => l.server.localAddress === address || l.client.localAddress === address);
  }

  /** Cuts `address` off: its links are black-holed and dials to or from it hang. */
  partition(address: string): void {
    this.#partitioned.add(address);
    for (const link of this.links(address)) link.blackHole();
  }

  /** Reconnects a partitioned address (or every one). */
  heal(address?: string): void {
    const healed = address === undefined ? [...this.#partitioned] : [address];
    for (const a of healed) {
      this.#partitioned.delete(a);
      for (const link of this.links(a)) link.heal();
    }
  }

  isPartitioned(address: string): boolean {
    return this.#partitioned.has(address);
  }

  /** @internal */
  bind(address: string, accept: (connection: MemoryConnection) => void, options: ConnectionOptions): void {
    if (this.#listeners.has(address)) throw new DialError(`memory address "${address}" is in use`);
    this.#listeners.set(address, { accept, options });
  }

  /** @internal */
  unbind(address: string): void {
    this.#listeners.delete(address);
  }

  /** @internal */
  anonymousAddress(): string {
    return `anonymous-${++this.#anonymous}`;
  }

  /** @internal Resolves once connected; never settles while either end is partitioned. */
  connect(
    from: string,
    to: string,
    clientOptions: ConnectionOptions,
  ): { attempt: Promise<MemoryConnection>; cancel: () => void } {
    let cancelled = false;
    const attempt = new Promise<MemoryConnection>((resolve, reject) => {
      setImmediate(() => {
        if (cancelled) return;
        if (this.#partitioned.has(to) || this.#partitioned.has(from)) return; // the SYN is lost
        const listener = this.#listeners.get(to);
        if (listener === undefined) {
          reject(new DialError(`nothing listens at memory address "${to}"`));
          return;
        }
        const client = new MemoryConnection(from, to, clientOptions);
        const server = new MemoryConnection(to, from, listener.options);
        const link = new MemoryLink(
          client,
          server,
          this.clock,
          this.#random,
          () => this.#partitioned.has(from) || this.#partitioned.has(to),
        );
        this.#links.add(link);
        void Promise.all([client.closed, server.closed]).then(() => this.#links.delete(link));
        listener.accept(server);
        resolve(client);
      });
    });
    return {
      attempt,
      cancel: () => {
        cancelled = true;
      },
    };
  }
}

class MemoryTransport implements Transport {
  readonly name = "memory";
  readonly #address: string;
  readonly #connectionOptions: ConnectionOptions;

  constructor(
    private readonly network: MemoryNetwork,
    options: MemoryTransportOptions,
  ) {
    this.#address = options.address ?? network.anonymousAddress();
    const { address: _, ...connectionOptions } = options;
    this.#connectionOptions = { ...connectionOptions, clock: network.clock };
  }

  dial(address: string, options: DialOptions = {}): Promise<Connection> {
    const { attempt, cancel } = this.network.connect(this.#address, address, this.#connectionOptions);
    return guardDial(attempt, cancel, options, this.network.clock);
  }

  async listen(address: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    const connections = new Set<MemoryConnection>();
    const accept = (connection: MemoryConnection) => {
      connections.add(connection);
      void connection.closed.then(() => connections.delete(connection));
      onConnection(connection);
    };
    this.network.bind(address, accept, this.#connectionOptions);
    let closing: Promise<void> | undefined;
    return {
      address,
      close: () => {
        closing ??= (async () => {
          this.network.unbind(address);
          await Promise.all([...connections].map((c) => c.close()));
        })();
        return closing;
      },
    };
  }
}

/** Creates an isolated in-process network. */
export function createMemoryNetwork(options: MemoryNetworkOptions = {}): MemoryNetwork {
  return new MemoryNetwork(options);
}
