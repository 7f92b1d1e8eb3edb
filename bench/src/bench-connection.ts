import { ConnectionBase } from "@tether/core";

/** A connection whose peer is this benchmark: frames in by `deliver`, answers counted. */
export class BenchConnection extends ConnectionBase {
  readonly transport = "bench";
  readonly localAddress = "bench:server";
  readonly remoteAddress = "bench:client";
  readonly bufferedAmount = 0;
  answers = 0;
  deliver(frame: Uint8Array): void {
    this.receive(frame);
  }
  protected sendFrame(): boolean {
    this.answers++;
    return true;
  }
  protected closeGracefully(): void {
    this.finish({ local: true });
  }
  protected destroy(): void {
    this.finish({ local: true });
  }
  protected pauseReading(): void {}
  protected resumeReading(): void {}
}
