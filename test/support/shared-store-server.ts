import {
  createServer,
  ManualClock,
  type SessionBackend,
  SharedSessionStore,
  type TetherServer,
} from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { RawSession } from "./raw-session.js";

/**
 * A server whose sessions live in a `SharedSessionStore` over `backend`, on a memory network
 * driven by a `ManualClock`, with raw protocol peers to talk to it.
 */
export interface SharedStoreServer {
  readonly clock: ManualClock;
  readonly server: TetherServer;
  /** One millisecond of the clock: what a wait does between looks. */
  step(): Promise<void>;
  /** A raw peer with a session of its own, or `resume`'s. */
  open(resume?: { sessionId: string; password: Uint8Array }): Promise<RawSession>;
  /** Drops every peer and closes the server, the clock driven until it has. */
  close(): Promise<void>;
}

export async function startSharedStoreServer(backend: SessionBackend): Promise<SharedStoreServer> {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server = createServer({
    clock,
    tickTime: 100,
    sessionStore: (context) => new SharedSessionStore(context, backend),
  });
  const address = (await server.listen(network.transport(), "shared-store-server")).address;
  const raws: RawSession[] = [];
  const step = () => clock.advanceAsync(1);
  return {
    clock,
    server,
    step,
    async open(resume) {
      const raw = await RawSession.open(network.transport(), address, step, resume);
      raws.push(raw);
      return raw;
    },
    async close() {
      for (const raw of raws.splice(0)) raw.connection.abort();
      const closing = server.close();
      for (let i = 0; i < 100; i++) await clock.advanceAsync(100);
      await closing;
    },
  };
}
