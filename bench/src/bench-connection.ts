import { ConnectionBase } from "@tether/core";

/** A connection whose peer is this benchmark: frames in by `deliver`, answers counted. */
export class BenchConnection extends ConnectionBase {
  readonly transport = "bench";
  readonly localAddress = "bench:server";
  readonly remoteAddress = "bench:client";
  readonly bufferedAmount = 0;
  answers = 0;
  /** `frames` arrive as one read, as a socket read would hand them up. */
  deliver(...frames: Uint8Array[]): void {
    for (const frame of frames) this.receive(frame);
    this.receiveComplete();
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
