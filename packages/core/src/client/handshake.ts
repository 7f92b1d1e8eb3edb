import type { Welcome } from "../session/protocol.js";
import type { CloseInfo } from "../transport/connection.js";

export type HandshakeResult =
  | { kind: "welcome"; welcome: Welcome }
  | { kind: "goodbye"; code: number; reason: string }
  | { kind: "failed"; reason: string };

/**
 * One connection attempt's milestones: the outcome of its Hello (a Welcome, a Goodbye or a
 * failure, settled once), and `lost`, settled when the client gives the connection up.
 */
export class Handshake {
  done = false;
  readonly result: Promise<HandshakeResult>;
  readonly lost: Promise<CloseInfo>;
  #resolve!: (result: HandshakeResult) => void;
  #lose!: (info: CloseInfo) => void;

  constructor() {
    this.result = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.lost = new Promise((resolve) => {
      this.#lose = resolve;
    });
  }
  lose(info: CloseInfo): void {
    this.#lose(info);
  }
  welcome(welcome: Welcome): void {
    this.#settle({ kind: "welcome", welcome });
  }
  goodbye(code: number, reason: string): void {
    this.#settle({ kind: "goodbye", code, reason });
  }
  fail(reason: string): void {
    this.#settle({ kind: "failed", reason });
  }
  #settle(result: HandshakeResult): void {
    if (this.done) return;
    this.done = true;
    this.#resolve(result);
  }
}
