import { MessageType, type ResponseMessage, type SessionBackend } from "@tether/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

export interface RequestContractTarget {
  name: string;
  /** A backend with a key space of its own (each case starts empty). */
  backend(): SessionBackend;
}

const A = "server-a";
const B = "server-b";
const MAX_RESPONSES = 4;

function answer(seq: number, result: string): ResponseMessage {
  return { type: MessageType.Response, seq, body: result };
}

/** One request's admission, asked alone. */
async function admitOne(backend: SessionBackend, id: string, seq: number, server: string) {
  return (await backend.admit([{ id, seq }], server))[0];
}

/** One answer, kept alone. */
async function completeOne(
  backend: SessionBackend,
  id: string,
  response: ResponseMessage,
  runner: string,
  maxResponses: number,
) {
  return (await backend.complete([{ id, response, runner }], maxResponses))[0];
}

/**
 * What `SharedSessionStore` relies on from a backend's request primitives (`admit`, `withdraw`,
 * `complete`, `acknowledge`), called directly, as two servers would: each request runs on one
 * server, and its first answer is the one that stands, whatever reaches the backend after it.
 */
export function describeRequestContract(target: RequestContractTarget): void {
  describe(`${target.name}: request admission contract`, () => {
    let backend: SessionBackend;
    let id: string;
    let sessions = 0;

    beforeEach(async () => {
      backend = target.backend();
      id = `contract-${++sessions}`;
      const record = { id, password: new Uint8Array(16), timeout: 10_000, principal: null, deadline: 1e12 };
      expect(await backend.create(record, A)).toBe(true);
    });

    afterEach(async () => {
      await backend.close(A);
    });

    it("admits a request to one server: again to it, elsewhere to any other", async () => {
      expect(await admitOne(backend, id, 1, A)).toEqual({ kind: "run" });
      expect(await admitOne(backend, id, 1, A)).toEqual({ kind: "run" });
      expect(await admitOne(backend, id, 1, B)).toEqual({ kind: "elsewhere", server: A });
    });

    it("answers a request with its first answer: a later one (a server-lost verdict) is refused", async () => {
      expect(await admitOne(backend, id, 1, A)).toEqual({ kind: "run" });
      expect(await completeOne(backend, id, answer(1, "first"), A, MAX_RESPONSES)).toBe("kept");
      expect(await completeOne(backend, id, answer(1, "second"), A, MAX_RESPONSES)).toBe("refused");
      expect(await admitOne(backend, id, 1, B)).toEqual({ kind: "answered", response: answer(1, "first") });
      expect(await admitOne(backend, id, 1, A)).toEqual({ kind: "answered", response: answer(1, "first") });
    });

    it("keeps only the runner's answer", async () => {
      expect(await admitOne(backend, id, 1, A)).toEqual({ kind: "run" });
      expect(await completeOne(backend, id, answer(1, "not mine"), B, MAX_RESPONSES)).toBe("refused");
      expect(await completeOne(backend, id, answer(1, "a's"), A, MAX_RESPONSES)).toBe("kept");
      expect(await admitOne(backend, id, 1, B)).toEqual({ kind: "answered", response: answer(1, "a's") });
    });

    it("lets another server run a request its runner withdrew before answering", async () => {
      expect(await admitOne(backend, id, 1, A)).toEqual({ kind: "run" });
      await backend.withdraw(id, 1, B); // not B's to take back
      expect(await admitOne(backend, id, 1, B)).toEqual({ kind: "elsewhere", server: A });
      await backend.withdraw(id, 1, A);
      expect(await admitOne(backend, id, 1, B)).toEqual({ kind: "run" });
      expect(await completeOne(backend, id, answer(1, "late"), A, MAX_RESPONSES)).toBe("refused");
    });

    it("keeps a request answered when its runner withdraws it after the answer", async () => {
      expect(await admitOne(backend, id, 1, A)).toEqual({ kind: "run" });
      expect(await completeOne(backend, id, answer(1, "done"), A, MAX_RESPONSES)).toBe("kept");
      await backend.withdraw(id, 1, A);
      expect(await admitOne(backend, id, 1, B)).toEqual({ kind: "answered", response: answer(1, "done") });
    });

    it("refuses acknowledged requests, and admits those after them afresh", async () => {
      for (const seq of [1, 2]) {
        expect(await admitOne(backend, id, seq, A)).toEqual({ kind: "run" });
        expect(await completeOne(backend, id, answer(seq, "x"), A, MAX_RESPONSES)).toBe("kept");
      }
      await backend.acknowledge(id, 0, 3);
      expect(await admitOne(backend, id, 1, A)).toEqual({ kind: "refused" });
      expect(await admitOne(backend, id, 2, B)).toEqual({ kind: "refused" });
      expect(await admitOne(backend, id, 3, B)).toEqual({ kind: "run" });
      const snapshot = await backend.read(id, 0);
      expect(snapshot?.responses).toEqual([]);
    });

    it("drops what acknowledgements cover across digit counts and long jumps, and nothing after", async () => {
      const answerAll = async (seqs: number[]) => {
        const admitted = await backend.admit(
          seqs.map((seq) => ({ id, seq })),
          A,
        );
        expect(admitted).toEqual(seqs.map(() => ({ kind: "run" })));
        const kept = await backend.complete(
          seqs.map((seq) => ({ id, response: answer(seq, `r${seq}`), runner: A })),
          2000,
        );
        expect(kept).toEqual(seqs.map(() => "kept"));
      };
      const keptSeqs = async () =>
        ((await backend.read(id, 0))?.responses ?? []).map((response) => response.seq).sort((a, b) => a - b);
      await answerAll(Array.from({ length: 120 }, (_, i) => i + 1)); // 1..120
      await backend.acknowledge(id, 0, 10); // 1..9 go; 10 (two digits) stays
      expect((await keptSeqs())[0]).toBe(10);
      await backend.acknowledge(id, 0, 100); // a range of 90 among 111 kept
      expect(await keptSeqs()).toEqual(Array.from({ length: 21 }, (_, i) => i + 100));
      expect(await admitOne(backend, id, 99, B)).toEqual({ kind: "refused" });
      expect(await admitOne(backend, id, 100, B)).toEqual({
        kind: "answered",
        response: answer(100, "r100"),
      });
      await backend.acknowledge(id, 0, 50); // backwards: nothing changes
      expect(await keptSeqs()).toHaveLength(21);
      await answerAll([1000, 1001]); // a gap
      await backend.acknowledge(id, 0, 1001); // a long jump over the gap
      expect(await keptSeqs()).toEqual([1001]);
      expect(await admitOne(backend, id, 999, B)).toEqual({ kind: "refused" });
      expect(await admitOne(backend, id, 1002, B)).toEqual({ kind: "run" });
    });

    it("says full past maxResponses unacknowledged answers, keeping none beyond", async () => {
      for (let seq = 1; seq <= MAX_RESPONSES; seq++) {
        expect(await admitOne(backend, id, seq, A)).toEqual({ kind: "run" });
        expect(await completeOne(backend, id, answer(seq, "x"), A, MAX_RESPONSES)).toBe("kept");
      }
      const seq = MAX_RESPONSES + 1;
      expect(await admitOne(backend, id, seq, A)).toEqual({ kind: "run" });
      expect(await completeOne(backend, id, answer(seq, "x"), A, MAX_RESPONSES)).toBe("full");
      expect((await backend.read(id, 0))?.responses).toHaveLength(MAX_RESPONSES);
    });

    it("says gone for a session it does not have, and keeps no answer for it", async () => {
      expect(await admitOne(backend, "no-such-session", 1, A)).toEqual({ kind: "gone" });
      expect(await completeOne(backend, "no-such-session", answer(1, "x"), A, MAX_RESPONSES)).toBe("refused");
    });

    it("decides a batch of many requests of several sessions, each as if alone", async () => {
      const other = `${id}-other`;
      const record = {
        id: other,
        password: new Uint8Array(16),
        timeout: 10_000,
        principal: null,
        deadline: 1e12,
      };
      expect(await backend.create(record, A)).toBe(true);
      expect(await admitOne(backend, id, 7, B)).toEqual({ kind: "run" });
      const seqs = Array.from({ length: 50 }, (_, i) => i + 1);
      const admissions = await backend.admit(
        [
          ...seqs.map((seq) => ({ id, seq })),
          ...seqs.map((seq) => ({ id: other, seq })),
          { id: "no-such-session", seq: 1 },
          { id, seq: 8 }, // asked twice in one batch: run again, as asked alone
        ],
        A,
      );
      const expected = seqs.map((seq) => (seq === 7 ? { kind: "elsewhere", server: B } : { kind: "run" }));
      expect(admissions).toEqual([
        ...expected,
        ...seqs.map(() => ({ kind: "run" })),
        { kind: "gone" },
        { kind: "run" },
      ]);
      const kept = await backend.complete(
        [
          ...seqs.map((seq) => ({ id, response: answer(seq, `id ${seq}`), runner: A })),
          { id: "no-such-session", response: answer(1, "for no one"), runner: A },
          ...seqs.map((seq) => ({ id: other, response: answer(seq, `other ${seq}`), runner: A })),
          { id, response: answer(8, "a second answer"), runner: A }, // the first one stands
        ],
        100,
      );
      expect(kept).toEqual([
        ...seqs.map((seq) => (seq === 7 ? "refused" : "kept")),
        "refused",
        ...seqs.map(() => "kept"),
        "refused",
      ]);
      expect(await admitOne(backend, id, 8, B)).toEqual({ kind: "answered", response: answer(8, "id 8") });
      for (const seq of [1, 50])
        expect(await admitOne(backend, other, seq, B)).toEqual({
          kind: "answered",
          response: answer(seq, `other ${seq}`),
        });
    });
  });
}
