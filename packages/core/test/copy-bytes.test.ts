import { describe, expect, it } from "vitest";
import { copyBytes } from "../src/copy-bytes.js";

describe("copyBytes", () => {
  it("copies a Buffer, whose own slice() is a view", () => {
    const buffer = Buffer.from([1, 2, 3, 4]).subarray(1, 3);
    const copy = copyBytes(buffer);
    buffer.fill(9);
    expect([...copy]).toEqual([2, 3]);
    expect(copy.buffer).not.toBe(buffer.buffer);
    expect([...buffer.slice()]).toEqual([9, 9]); // the view this replaces
  });

  it("copies a plain Uint8Array", () => {
    const bytes = new Uint8Array([5, 6]);
    const copy = copyBytes(bytes);
    bytes[0] = 0;
    expect([...copy]).toEqual([5, 6]);
  });
});
