import { type Connection, MessageType, PROTOCOL_VERSION, type Transport } from "@tether/core";
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/**
 * A hand-driven protocol peer: sends exactly the messages a test writes and records every
 * message the server sends back. For checking server rules without a real client's heartbeat.
 */
export class RawSession {
  readonly received: unknown[][] = [];
  #waiters: Array<() => void> = [];

  private constructor(readonly connection: Connection) {
    connection.on("frame", (frame) => {
      this.received.push(packr.unpack(frame) as unknown[]);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    connection.on("close", () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static async dial(transport: Transport, address: string): Promise<RawSession> {
    return new RawSession(await transport.dial(address));
  }

  /**
   * Dials, says Hello (a new session, or `resume`'s) with a 5 s timeout, and waits for the
   * Welcome, calling `advance` between looks.
   */
  static async open(
    transport: Transport,
    address: string,
    advance: () => Promise<void>,
    resume?: { sessionId: string; password: Uint8Array },
  ): Promise<RawSession> {
    const raw = await RawSession.dial(transport, address);
    raw.hello({ timeout: 5000, ...resume });
    await raw.waitFor((m) => m[0] === MessageType.Welcome, advance);
    return raw;
  }

  send(message: unknown[]): void {
    this.connection.send(packr.pack(message));
  }

  sendBytes(bytes: Uint8Array): void {
    this.connection.send(bytes);
  }

  hello(
    options: {
      timeout?: number;
      sessionId?: string;
      password?: Uint8Array;
      lastPushSeq?: number;
      version?: number;
    } = {},
  ) {
    this.send([
      MessageType.Hello,
      options.version ?? PROTOCOL_VERSION,
      options.timeout ?? 1000,
      options.sessionId ?? null,
      options.password ?? null,
      options.lastPushSeq ?? 0,
      null,
    ]);
  }

  /** Waits until a received message satisfies `match` (or the connection closes). */
  async waitFor(match: (message: unknown[]) => boolean, advance?: () => Promise<void>): Promise<unknown[]> {
    for (let turn = 0; turn < 10_000; turn++) {
      const found = this.received.find(match);
      if (found !== undefined) return found;
      if (this.connection.status === "closed")
        throw new Error(`closed without the message; got ${JSON.stringify(this.received)}`);
      if (advance) await advance();
      else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    throw new Error("message never came");
  }

  /** The session the server's Welcome named, to resume it. */
  welcome(): { sessionId: string; password: Uint8Array } {
    const welcome = this.received.find((m) => m[0] === MessageType.Welcome);
    if (welcome === undefined) throw new Error("no Welcome yet");
    return { sessionId: welcome[1] as string, password: welcome[2] as Uint8Array };
  }

  goodbyeCode(): number | undefined {
    const goodbye = this.received.find((m) => m[0] === MessageType.Goodbye);
    return goodbye?.[1] as number | undefined;
  }
}
