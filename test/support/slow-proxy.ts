import * as net from "node:net";

export interface SlowProxy {
  /** `host:port` to dial instead of the target. */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 that lets one direction through at `bytesPerSecond` (in slices every
 * 50 ms), like a slow link, and the other at full speed. For liveness tests on loopback.
 */
export async function slowProxy(
  target: string,
  slow: "to-client" | "to-server",
  bytesPerSecond: number,
): Promise<SlowProxy> {
  const [host, port] = target.split(":") as [string, string];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const throttle = (from: net.Socket, to: net.Socket) => {
    const queue: Buffer[] = [];
    const slice = Math.max(1, Math.round(bytesPerSecond / 20));
    from.on("data", (chunk: Buffer) => queue.push(chunk));
    const timer = setInterval(() => {
      let budget = slice;
      while (budget > 0 && queue.length > 0) {
        const head = queue[0] as Buffer;
        const part = head.subarray(0, budget);
        to.write(part);
        budget -= part.length;
        if (part.length === head.length) queue.shift();
        else queue[0] = head.subarray(part.length);
      }
    }, 50);
    timers.add(timer);
    from.once("close", () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port: Number(port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.once("close", () => sockets.delete(s));
    }
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
    if (slow === "to-client") {
      client.pipe(upstream);
      throttle(upstream, client);
    } else {
      upstream.pipe(client);
      throttle(client, upstream);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const bound = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${bound.port}`,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
