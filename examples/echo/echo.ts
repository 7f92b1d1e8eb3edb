import { createClient, createServer, type Transport } from "@tether/core";

/** The server: one handler, whatever the transport. */
export async function startEchoServer(transport: Transport, address: string) {
  const server = createServer();
  server.handle("echo", (body) => body);
  const listener = await server.listen(transport, address);
  return { server, address: listener.address };
}

/** The client: one request, whatever the transport. */
export async function echoOnce(transport: Transport, address: string, message: string): Promise<unknown> {
  const client = createClient({ servers: [{ transport, address }], timeout: 10_000 });
  try {
    return await client.request("echo", message);
  } finally {
    await client.close();
  }
}
