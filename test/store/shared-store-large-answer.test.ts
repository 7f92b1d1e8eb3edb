// A large answer is encoded into memory that is reused once the turn that sent it ends: whatever
// keeps it (the store, until the client acknowledges it) must hold bytes of its own.
import { type AnswerToKeep, type KeptAnswer, MemorySessionBackend, MessageType } from "@tether/core";
import { FaultyBackend } from "@tether/store-conformance";
import { Packr } from "msgpackr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SharedStoreServer, startSharedStoreServer } from "../support/shared-store-server.js";

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const BODY_BYTES = 16 * 1024;
const bodyFor = (seq: number) => String.fromCharCode(97 + (seq % 26)).repeat(BODY_BYTES);
/** "intact", or what a body holds instead (not 16 KiB of it in the report). */
const check = (seq: number, body: unknown) =>
  body === bodyFor(seq) ? "intact" : `${String(body).slice(0, 8)}… (${String(body).length} chars)`;

/** Holds on to every frame the store is asked to keep, as a backend writing it later would. */
class RecordingBackend extends FaultyBackend {
  readonly frames: Array<{ seq: number; frame: Uint8Array }> = [];

  override complete(answers: readonly AnswerToKeep[], maxResponses: number): Promise<KeptAnswer[]> {
    for (const answer of answers) {
      if (answer.frame !== undefined) this.frames.push({ seq: answer.response.seq, frame: answer.frame });
    }
    return super.complete(answers, maxResponses);
  }
}

describe("a large answer kept by a shared store", () => {
  let backend: RecordingBackend;
  let harness: SharedStoreServer;

  beforeEach(async () => {
    backend = new RecordingBackend(new MemorySessionBackend());
    harness = await startSharedStoreServer(backend);
    harness.server.handle("large", (seq: number) => bodyFor(seq));
  });

  afterEach(() => harness.close());

  const step = () => harness.step();
  const open = (resume?: { sessionId: string; password: Uint8Array }) => harness.open(resume);
  const answerTo = (seq: number) => (m: unknown[]) => m[0] === MessageType.Response && m[1] === seq;

  it("stays as it was sent while later answers are made, and comes back so on a resume", async () => {
    const first = await open();
    const resume = first.welcome();
    // Requests [5, seq, op, body, pushAck, responseAck], one per turn: responseAck 1 acknowledges none.
    const answers = 6;
    for (let seq = 1; seq <= answers; seq++) {
      first.send([MessageType.Request, seq, "large", seq, 0, 1]);
      expect(check(seq, (await first.waitFor(answerTo(seq), step))[2])).toBe("intact");
    }
    for (let i = 0; i < 5; i++) await harness.clock.advanceAsync(100);

    expect(backend.frames.map((kept) => kept.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const { seq, frame } of backend.frames) {
      expect(check(seq, (packr.unpack(frame) as unknown[])[2]), `kept answer ${seq}`).toBe("intact");
    }

    // The answers were lost with the connection: the resumed session gets them again, intact.
    first.connection.abort();
    const second = await open(resume);
    for (let seq = 1; seq <= answers; seq++) {
      expect(check(seq, (await second.waitFor(answerTo(seq), step))[2]), `resent ${seq}`).toBe("intact");
    }
  });
});
