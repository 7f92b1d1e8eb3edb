import * as net from "node:net";
import { encodeLengthPrefixed, LengthPrefixDecoder, MessageType } from "@tether/core";
import { Packr } from "msgpackr";

const pong = encodeLengthPrefixed([new Packr({ useRecords: false }).pack([MessageType.Pong])]);

/**
 * The idle benchmarks' baseline: a raw `net` server answering each length-prefixed frame with
 * a Pong-sized frame, no sessions. `address` is where it listens (127.0.0.1, a free port).
 */
export async function rawPingPongServer() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new LengthPrefixDecoder(1024);
    socket.on("data", (chunk) => decoder.push(chunk, () => socket.write(pong)));
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    connections: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
