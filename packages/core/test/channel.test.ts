import { describe, expect, it } from "vitest";
import { Channel, type ChannelHandler, type CloseInfo, ConnectionBase } from "../src/index.js";

/** A connection driven by the test: `deliver` is a read of one frame. */
class ScriptedConnection extends ConnectionBase {
  readonly transport = "scripted";
  readonly localAddress = "here";
  readonly remoteAddress = "there";
  readonly bufferedAmount = 0;
  deliver(frame: Uint8Array): void {
    this.receive(frame);
    this.receiveComplete();
  }
  protected sendFrame(): boolean {
    return true;
  }
  protected closeGracefully(): void {
    this.finish({ local: true });
  }
  protected destroy(error?: Error): void {
    this.finish(error === undefined ? { local: true } : { local: true, error });
  }
  protected pauseReading(): void {}
  protected resumeReading(): void {}
}

function recordingChannel(connection: ScriptedConnection, onClose?: (c: Channel, i: CloseInfo) => void) {
  const seen: string[] = [];
  const recorder: ChannelHandler = {
    channelRead: (_ctx, frame) => seen.push(`read ${(frame as Uint8Array)[0]}`),
    channelReadComplete: () => seen.push("readComplete"),
    channelInactive: () => seen.push("inactive"),
  };
  const channel = new Channel(connection, onClose === undefined ? {} : { onClose });
  channel.pipeline.addLast("recorder", recorder);
  channel.start();
  return { channel, seen };
}

describe("Channel", () => {
  it("reads its connection as its reader, with no listener on it", () => {
    const connection = new ScriptedConnection();
    const { seen } = recordingChannel(connection);
    expect(connection.eventNames()).toEqual([]);
    connection.deliver(Uint8Array.of(7));
    expect(seen).toEqual(["read 7", "readComplete"]);
  });

  it("listens instead when its connection has a reader already: both channels hear every event", async () => {
    const connection = new ScriptedConnection();
    const first = recordingChannel(connection);
    const second = recordingChannel(connection);
    connection.deliver(Uint8Array.of(1));
    await connection.close();
    for (const { seen } of [first, second]) expect(seen).toEqual(["read 1", "readComplete", "inactive"]);
  });

  it("calls onClose once, after the pipeline's channelInactive and before its close event", async () => {
    const connection = new ScriptedConnection();
    const order: string[] = [];
    const { channel, seen } = recordingChannel(connection, (closed, info) => {
      expect(closed).toBe(channel);
      order.push(`onClose local=${info.local} after ${seen.at(-1)}`);
    });
    channel.on("close", () => order.push("close event"));
    await connection.close();
    connection.abort();
    expect(order).toEqual(["onClose local=true after inactive", "close event"]);
  });
});
