// A shared store hears about its sessions through its backend's subscription: a session it
// opens or resumes before that subscription is up would miss what is published meanwhile.
import {
  type BackendListener,
  createServer,
  ManualClock,
  MemorySessionBackend,
  type ServerSession,
  SharedSessionStore,
} from "@tether/core";
import { FaultyBackend } from "@tether/store-conformance";
import { describe, expect, it } from "vitest";

/** A backend whose subscription is made only when the test lets it (a slow first connection). */
class SlowToSubscribe extends FaultyBackend {
  #letIn: () => void = () => {};
  readonly #gate = new Promise<void>((resolve) => {
    this.#letIn = resolve;
  });

  subscribeNow(): void {
    this.#letIn();
  }

  override async subscribe(serverId: string, listener: BackendListener): Promise<void> {
    await this.#gate;
    return super.subscribe(serverId, listener);
  }
}

describe("a shared store whose subscription is not up yet", () => {
  it("opens no session until it is, so a push published right after reaches the session", async () => {
    // Before: the session opened at once, the push went out while the subscription was still
    // on its way, and the session never heard of it.
    const clock = new ManualClock();
    const backend = new SlowToSubscribe(new MemorySessionBackend());
    const server = createServer({
      clock,
      tickTime: 100,
      sessionStore: (context) => new SharedSessionStore(context, backend),
    });
    try {
      let session: ServerSession | undefined;
      void Promise.resolve(server.store.open(1000, null)).then((opened) => {
        session = opened;
      });
      await clock.advanceAsync(0);
      backend.subscribeNow();
      for (let i = 0; i < 10 && session === undefined; i++) await clock.advanceAsync(0);
      const opened = session as ServerSession;
      await server.push(opened.id, "news", 1);
      await clock.advanceAsync(0);
      expect(opened.unacknowledgedPushes).toBe(1);
    } finally {
      await server.close();
    }
  });
});
