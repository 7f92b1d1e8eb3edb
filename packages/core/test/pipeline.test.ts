import { describe, expect, it, vi } from "vitest";
import {
  type ChannelHandler,
  EmbeddedChannel,
  type HandlerContext,
  IdleStateHandler,
  InvalidArgumentError,
  isIdleStateEvent,
  LoggingHandler,
  ManualClock,
  MessagePackCodec,
  ProtocolError,
} from "../src/index.js";

/** A handler that tags messages going each way, to make order visible. */
function tagger(tag: string): ChannelHandler {
  return {
    channelRead: (ctx, message) => ctx.fireRead(`${message as string}>${tag}`),
    write: (ctx, message) => ctx.write(`${message as string}<${tag}`),
  };
}

describe("Pipeline", () => {
  it("runs inbound events first to last and outbound writes last to first", () => {
    const channel = new EmbeddedChannel([
      ["a", tagger("a")],
      ["b", tagger("b")],
      ["c", tagger("c")],
    ]);
    channel.writeInbound("in");
    channel.write("out");
    expect(channel.inbound).toEqual(["in>a>b>c"]);
    expect(channel.outbound).toEqual(["out<c<b<a"]);
  });

  it("adds, inserts and removes handlers at run time", () => {
    const channel = new EmbeddedChannel([
      ["a", tagger("a")],
      ["c", tagger("c")],
    ]);
    channel.pipeline.addAfter("a", "b", tagger("b"));
    channel.pipeline.addBefore("a", "first", tagger("0"));
    expect(channel.pipeline.names()).toEqual(["first", "a", "b", "c", "embedded-collector"]);
    channel.writeInbound("x");
    channel.pipeline.remove("b");
    channel.writeInbound("y");
    expect(channel.inbound).toEqual(["x>0>a>b>c", "y>0>a>c"]);
    expect(() => channel.pipeline.addLast("a", tagger("dup"))).toThrow(InvalidArgumentError);
    expect(() => channel.pipeline.remove("missing")).toThrow(InvalidArgumentError);
  });

  it("lets a handler remove itself while an event passes through it", () => {
    const once: ChannelHandler = {
      channelRead(ctx, message) {
        ctx.pipeline.remove(ctx.name);
        ctx.fireRead(`${message as string}!`);
      },
    };
    const channel = new EmbeddedChannel([["once", once]]);
    channel.writeInbound("a", "b");
    expect(channel.inbound).toEqual(["a!", "b"]);
  });

  it("turns a handler's throw into exceptionCaught, never a crash, and the pipeline goes on", () => {
    const seen: string[] = [];
    const thrower: ChannelHandler = {
      channelRead: (_ctx, message) => {
        if (message === "bad") throw new Error("boom");
        _ctx.fireRead(message);
      },
    };
    const watcher: ChannelHandler = {
      exceptionCaught: (ctx, error) => {
        seen.push(error.message);
        ctx.fireError(error);
      },
    };
    const channel = new EmbeddedChannel([
      ["thrower", thrower],
      ["watcher", watcher],
    ]);
    channel.writeInbound("bad", "good");
    expect(seen).toEqual(["boom"]);
    expect(channel.errors.map((e) => e.message)).toEqual(["boom"]);
    expect(channel.inbound).toEqual(["good"]);
  });

  it("ends an error thrown inside exceptionCaught at the next handler", () => {
    const rethrow: ChannelHandler = {
      exceptionCaught: () => {
        throw new Error("second");
      },
      channelRead: () => {
        throw new Error("first");
      },
    };
    const channel = new EmbeddedChannel([["r", rethrow]]);
    channel.writeInbound("x");
    expect(channel.errors.map((e) => e.message)).toEqual(["second"]);
  });

  it("ends each batch of reads with channelReadComplete, to handlers added before or after start", () => {
    const seen: string[] = [];
    const completes = (tag: string): ChannelHandler => ({
      channelReadComplete: (ctx) => {
        seen.push(tag);
        ctx.fireReadComplete();
      },
    });
    const channel = new EmbeddedChannel([["a", completes("a")]]);
    channel.writeInbound("x", "y");
    expect(seen).toEqual(["a"]);
    channel.pipeline.addLast("b", completes("b"));
    channel.writeInbound("z");
    expect(seen).toEqual(["a", "a", "b"]);
    channel.pipeline.remove("a");
    channel.pipeline.remove("b");
    channel.writeInbound("w");
    expect(seen).toEqual(["a", "a", "b"]);
    expect(channel.inbound).toEqual(["x", "y", "z", "w"]);
  });

  it("reports an outbound handler's throw on the error path", () => {
    const bad: ChannelHandler = {
      write: () => {
        throw new Error("cannot write");
      },
    };
    const channel = new EmbeddedChannel([["bad", bad]]);
    channel.write("x");
    expect(channel.errors.map((e) => e.message)).toEqual(["cannot write"]);
    expect(channel.outbound).toEqual([]);
  });
});

describe("MessagePackCodec", () => {
  it("decodes frames and encodes values", () => {
    const channel = new EmbeddedChannel([["codec", new MessagePackCodec()]]);
    channel.write([1, "hello", { a: 1 }]);
    const frame = channel.outbound[0] as Uint8Array;
    expect(frame).toBeInstanceOf(Uint8Array);
    channel.writeInbound(frame);
    expect(channel.inbound).toEqual([[1, "hello", { a: 1 }]]);
  });

  it("turns undecodable bytes into a ProtocolError", () => {
    const channel = new EmbeddedChannel([["codec", new MessagePackCodec()]]);
    channel.writeInbound(Uint8Array.from([0x92, 0x01])); // an array of two holding one
    expect(channel.errors[0]).toBeInstanceOf(ProtocolError);
    expect(channel.inbound).toEqual([]);
  });
});

describe("IdleStateHandler", () => {
  function setup(options: { readerIdleMs?: number; writerIdleMs?: number }) {
    const clock = new ManualClock();
    const events: string[] = [];
    const recorder: ChannelHandler = {
      userEvent: (_ctx: HandlerContext, event: unknown) => {
        if (isIdleStateEvent(event)) events.push(`${clock.now()}:${event.state}${event.first ? "" : "+"}`);
      },
    };
    const channel = new EmbeddedChannel(
      [
        ["idle", new IdleStateHandler(options)],
        ["recorder", recorder],
      ],
      { clock },
    );
    return { clock, channel, events };
  }

  it("fires writer-idle after that long without writes; reads do not postpone it", () => {
    const { clock, channel, events } = setup({ writerIdleMs: 100 });
    clock.advance(60);
    channel.writeInbound("read");
    clock.advance(40);
    expect(events).toEqual(["100:writer-idle"]);
    channel.write("w"); // at 100
    clock.advance(150);
    expect(events).toEqual(["100:writer-idle", "200:writer-idle"]);
    clock.advance(100);
    expect(events).toEqual(["100:writer-idle", "200:writer-idle", "300:writer-idle+"]);
  });

  it("fires reader-idle only when nothing was read for the whole period", () => {
    const { clock, channel, events } = setup({ readerIdleMs: 100 });
    for (let i = 0; i < 5; i++) {
      clock.advance(90);
      channel.writeInbound("x");
    }
    expect(events).toEqual([]);
    clock.advance(100);
    expect(events).toEqual(["550:reader-idle"]);
  });

  it("reads the clock once per batch of reads and once per tick of writes", async () => {
    const { clock, channel } = setup({ readerIdleMs: 100, writerIdleMs: 100 });
    const idle = channel.pipeline.get("idle") as IdleStateHandler;
    const now = vi.spyOn(clock, "now");
    clock.advance(30);
    channel.writeInbound("a", "b", "c"); // one read of three frames
    expect(now).toHaveBeenCalledTimes(1);
    expect(idle.lastRead).toBe(30);
    channel.write("x");
    channel.write("y");
    expect(now).toHaveBeenCalledTimes(2);
    expect(idle.lastWrite).toBe(30);
    await Promise.resolve(); // the tick ends
    clock.advance(10);
    channel.write("z");
    expect(idle.lastWrite).toBe(40);
  });

  it("times a read whose read-complete never comes at the end of its tick: idleness is on time", async () => {
    const { clock, channel, events } = setup({ readerIdleMs: 100 });
    clock.advance(50);
    channel.pipeline.fireRead("no read-complete follows"); // a transport that never signals it
    await Promise.resolve(); // the tick ends
    clock.advance(99);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual(["150:reader-idle"]);
  });

  it("judges only after a hop that ran on time: a stall between the timer and its hop is waited out", () => {
    const { clock, channel, events } = setup({ readerIdleMs: 2000 });
    clock.advance(1999);
    expect(clock.runNextTimer()).toBe(true); // the reader timer at 2000, on time: it schedules its hop
    clock.stall(3000); // the loop blocks before the hop, while a frame arrives
    clock.runNextTimer(); // timers first: the hop, 3 s late (it hops again, after the I/O phase)
    channel.writeInbound("arrived during the stall"); // then I/O
    clock.advance(0);
    expect(events).toEqual([]);
    clock.advance(2000);
    expect(events).toEqual(["7000:reader-idle"]);
  });

  it("stops its timers when the channel closes", () => {
    const { clock, channel, events } = setup({ readerIdleMs: 100, writerIdleMs: 50 });
    channel.disconnect();
    clock.advance(1000);
    expect(events).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("LoggingHandler", () => {
  it("logs events without frame contents and passes them on", () => {
    const lines: Array<[object, string | undefined]> = [];
    const log = (o: object, m?: string) => lines.push([o, m]);
    const channel = new EmbeddedChannel([["log", new LoggingHandler("wire")]], {
      logger: { debug: log, info: log, warn: log, error: log },
    });
    channel.writeInbound(Uint8Array.from([1, 2, 3]));
    channel.write("out");
    expect(channel.inbound).toHaveLength(1);
    expect(channel.outbound).toEqual(["out"]);
    expect(
      lines.filter(([, m]) => m !== "active").map(([o, m]) => [m, (o as { bytes?: number }).bytes]),
    ).toEqual([
      ["read", 3],
      ["write", undefined],
    ]);
  });
});
