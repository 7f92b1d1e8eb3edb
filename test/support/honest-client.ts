import { createClient, type TetherClient, type Transport } from "@tether/core";

export interface HonestReport {
  answered: number;
  failed: number;
  /** The slowest answer, in real milliseconds. */
  maxLatencyMs: number;
}

/**
 * An honest client beside an attack: one request every `everyMs` on the server's `echo` op,
 * timing each answer. `stop()` reports what it saw, so a test can say the attack did not
 * freeze the server for anybody else.
 */
export class HonestClient {
  readonly #client: TetherClient;
  #timer: NodeJS.Timeout | undefined;
  #report: HonestReport = { answered: 0, failed: 0, maxLatencyMs: 0 };
  #inFlight = new Set<Promise<void>>();

  private constructor(client: TetherClient) {
    this.#client = client;
  }

  static async start(transport: Transport, address: string, everyMs = 20): Promise<HonestClient> {
    const client = createClient({ servers: [{ transport, address }], timeout: 10_000 });
    await client.connected();
    await client.request("echo", "warm-up");
    const honest = new HonestClient(client);
    honest.#timer = setInterval(() => honest.#once(), everyMs);
    return honest;
  }

  #once(): void {
    const started = performance.now();
    const done = this.#client.request("echo", "ping", { timeout: 5000 }).then(
      () => {
        this.#report.answered++;
        this.#report.maxLatencyMs = Math.max(this.#report.maxLatencyMs, performance.now() - started);
      },
      () => {
        this.#report.failed++;
      },
    );
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }

  async stop(): Promise<HonestReport> {
    clearInterval(this.#timer);
    await Promise.all(this.#inFlight);
    await this.#client.close();
    return this.#report;
  }
}

/** Heap in use after a full collection (tests run with --expose-gc), in bytes. */
export function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}
