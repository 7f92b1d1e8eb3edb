import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeqIndex } from "../src/session/seq-index.js";

interface Item {
  seq: number;
  tag: string;
}

const item = (seq: number, tag = `#${seq}`): Item => ({ seq, tag });

describe("SeqIndex", () => {
  it("finds, replaces and removes items by seq, and lists them in seq order", () => {
    const index = new SeqIndex<Item>();
    for (const seq of [1, 2, 3, 5, 8]) index.set(seq, item(seq));
    index.set(4, item(4)); // out of order: a re-sent request
    index.set(3, item(3, "again"));
    expect(index.size).toBe(6);
    expect(index.get(3)?.tag).toBe("again");
    expect(index.get(6)).toBeUndefined();
    expect(index.delete(1)?.seq).toBe(1);
    expect(index.delete(1)).toBeUndefined();
    expect(index.first()?.seq).toBe(2);
    expect(index.deleteBelow(5)).toBe(3); // 2, 3, 4
    expect(index.values().map((i) => i.seq)).toEqual([5, 8]);
    index.set(2, item(2)); // below every item left
    expect(index.first()?.seq).toBe(2);
    expect(index.has(2)).toBe(true);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.first()).toBeUndefined();
  });

  it("indexes share nothing, also once emptied (empty ones start from the same arrays)", () => {
    const a = new SeqIndex<Item>();
    const b = new SeqIndex<Item>();
    a.set(1, item(1));
    a.delete(1); // empty again
    a.set(2, item(2));
    b.set(7, item(7));
    a.clear();
    b.deleteBelow(8);
    expect([a.size, b.size, new SeqIndex<Item>().size]).toEqual([0, 0, 0]);
    b.set(3, item(3));
    expect(a.get(3)).toBeUndefined();
    expect(new SeqIndex<Item>().first()).toBeUndefined();
    expect(b.values().map((i) => i.seq)).toEqual([3]);
  });

  it("keeps finding everything while one old item stays and thousands pass it", () => {
    const index = new SeqIndex<Item>();
    index.set(1, item(1, "long-running"));
    for (let seq = 2; seq < 20_000; seq++) {
      index.set(seq, item(seq));
      if (seq >= 5) expect(index.delete(seq - 3)?.seq).toBe(seq - 3);
    }
    expect(index.size).toBe(4);
    expect(index.values().map((i) => i.seq)).toEqual([1, 19_997, 19_998, 19_999]);
    expect(index.get(1)?.tag).toBe("long-running");
    expect(index.get(10_000)).toBeUndefined();
  });

  it("behaves as a map from seq to item under any sequence of operations", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), seq: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant("delete" as const), seq: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant("deleteBelow" as const), seq: fc.integer({ min: 0, max: 300 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const index = new SeqIndex<Item>();
        const model = new Map<number, Item>();
        let n = 0;
        for (const { kind, seq } of ops) {
          if (kind === "set") {
            const added = item(seq, `v${n++}`);
            index.set(added.seq, added);
            model.set(seq, added);
          } else if (kind === "delete") {
            expect(index.delete(seq)).toBe(model.get(seq));
            model.delete(seq);
          } else {
            const below = [...model.keys()].filter((k) => k < seq);
            expect(index.deleteBelow(seq)).toBe(below.length);
            for (const k of below) model.delete(k);
          }
          expect(index.size).toBe(model.size);
        }
        const sorted = [...model.values()].sort((a, b) => a.seq - b.seq);
        expect(index.values()).toEqual(sorted);
        expect(index.first()).toBe(sorted[0]);
        for (let seq = 0; seq <= 300; seq++) expect(index.get(seq)).toBe(model.get(seq));
      }),
      { numRuns: 300 },
    );
  });
});
