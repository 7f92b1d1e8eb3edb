// In cluster mode an op registered idempotent runs as a single server runs it: at once, without
// asking the store, and its answer is not kept there (a re-sent request runs again). A request
// still starts after every earlier request of its connection has.
import {
  type AnswerToKeep,
  type KeptAnswer,
  MemorySessionBackend,
  MessageType,
  type RequestAdmission,
  type RequestRef,
} from "@tether/core";
import { FaultyBackend } from "@tether/store-conformance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SharedStoreServer, startSharedStoreServer } from "../support/shared-store-server.js";

/** Counts the requests the store is asked to admit and the answers it is asked to keep. */
class CountingBackend extends FaultyBackend {
  admitted = 0;
  kept = 0;

  override admit(requests: readonly RequestRef[], serverId: string): Promise<RequestAdmission[]> {
    this.admitted += requests.length;
    return super.admit(requests, serverId);
  }

  override complete(answers: readonly AnswerToKeep[], maxResponses: number): Promise<KeptAnswer[]> {
    this.kept += answers.length;
    return super.complete(answers, maxResponses);
  }
}

describe("an idempotent op on a shared store", () => {
  let backend: CountingBackend;
  let harness: SharedStoreServer;
  const ran: string[] = [];

  beforeEach(async () => {
    backend = new CountingBackend(new MemorySessionBackend());
    harness = await startSharedStoreServer(backend);
    ran.length = 0;
    harness.server.handle(
      "read",
      () => {
        ran.push("read");
        return ran.length;
      },
      { idempotent: true },
    );
    harness.server.handle("write", () => {
      ran.push("write");
      return ran.length;
    });
  });

  afterEach(async () => {
    backend.releaseHeld();
    await harness.close();
  });

  const step = () => harness.step();
  const open = (resume?: { sessionId: string; password: Uint8Array }) => harness.open(resume);
  const answerTo = (seq: number) => (m: unknown[]) =>
    (m[0] === MessageType.Response || m[0] === MessageType.ErrorResponse) && m[1] === seq;

  it("runs at once without the store, and runs again when re-sent after a resume", async () => {
    const first = await open();
    const resume = first.welcome();
    // Request [5, seq, op, body, pushAck, responseAck]: responseAck 1 acknowledges no answer.
    first.send([MessageType.Request, 1, "read", null, 0, 1]);
    expect((await first.waitFor(answerTo(1), step))[2]).toBe(1);
    for (let i = 0; i < 5; i++) await harness.clock.advanceAsync(100); // every tick's batches go out
    expect({ admitted: backend.admitted, kept: backend.kept }).toEqual({ admitted: 0, kept: 0 });

    // The answer was lost with the connection: the client resumes and sends it again.
    first.connection.abort();
    const second = await open(resume);
    second.send([MessageType.Request, 1, "read", null, 0, 1]);
    expect((await second.waitFor(answerTo(1), step))[2]).toBe(2);
    expect(ran).toEqual(["read", "read"]);

    // A request of an op that is not idempotent still goes through the store.
    second.send([MessageType.Request, 2, "write", null, 0, 1]);
    await second.waitFor(answerTo(2), step);
    expect(backend.admitted).toBe(1);
  });

  it("starts after an earlier request of its connection that waits for the store", async () => {
    const raw = await open();
    backend.hold("calls"); // the store is slow to decide
    raw.send([MessageType.Request, 1, "write", null, 0, 1]);
    raw.send([MessageType.Request, 2, "read", null, 0, 1]);
    for (let i = 0; i < 5; i++) await step();
    expect(ran).toEqual([]); // the read did not overtake the write
    backend.releaseHeld();
    await raw.waitFor(answerTo(2), step);
    await raw.waitFor(answerTo(1), step);
    expect(ran).toEqual(["write", "read"]);
    expect(backend.admitted).toBe(2); // the read went through the store, after the write
  });
});
