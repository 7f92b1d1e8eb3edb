// The codec where there is no Node Buffer (browsers): the flat encoder and the decoder take
// their TextEncoder/TextDecoder paths. Both modules are bundled and run in a context of their
// own that has no Buffer, and must agree byte for byte with what they do under Node.
import { fileURLToPath } from "node:url";
import { createContext, runInContext } from "node:vm";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { encodeFlatMessage } from "../src/channel/flat-encoder.js";
import { decodePlainMessagePack } from "../src/channel/plain-decoder.js";

interface Codec {
  encodeFlatMessage(message: unknown): Uint8Array | undefined;
  decodePlainMessagePack(frame: Uint8Array): unknown;
  /** A message made in the codec's own context (its Uint8Array is not this one's). */
  message(text: string): unknown[];
}

async function codecWithoutBuffer(): Promise<Codec> {
  const entry = `export { encodeFlatMessage } from "./flat-encoder.ts"; export { decodePlainMessagePack } from "./plain-decoder.ts";`;
  const bundle = await build({
    stdin: {
      contents: entry,
      resolveDir: fileURLToPath(new URL("../src/channel/", import.meta.url)),
      loader: "ts",
    },
    bundle: true,
    format: "iife",
    globalName: "codec",
    write: false,
    logLevel: "silent",
  });
  const context = createContext({ TextEncoder, TextDecoder });
  runInContext(bundle.outputFiles[0]?.text ?? "", context);
  expect(runInContext("typeof Buffer", context)).toBe("undefined");
  runInContext("codec.message = (text) => [6, 2 ** 40, text, Uint8Array.of(1, 2, 3), -1.5, null]", context);
  return runInContext("codec", context) as Codec;
}

const texts = [
  "",
  "plain",
  "héllo wörld",
  "日本語".repeat(30),
  "😀".repeat(40),
  `${"x".repeat(100)}é`,
  "a\ud800b",
  "\udc00",
  "\ud83d",
];

describe("the codec without Node's Buffer", () => {
  it("writes the same bytes as under Node, and reads them back", async () => {
    const codec = await codecWithoutBuffer();
    for (const text of texts) {
      const message = [6, 2 ** 40, text, Uint8Array.of(1, 2, 3), -1.5, null];
      const frame = codec.encodeFlatMessage(codec.message(text)) as Uint8Array;
      expect(Array.from(frame), JSON.stringify(text)).toEqual(
        Array.from(encodeFlatMessage(message) as Uint8Array),
      );
      const decoded = codec.decodePlainMessagePack(frame) as unknown[];
      const withoutLoneSurrogates = text.replace(
        /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
        "\ufffd",
      );
      expect(decoded[2]).toBe(withoutLoneSurrogates);
      expect((decodePlainMessagePack(frame) as unknown[])[2]).toBe(withoutLoneSurrogates);
      expect(Array.from(decoded[3] as Uint8Array)).toEqual([1, 2, 3]);
      expect(decoded[1]).toBe(2 ** 40);
    }
  });
});
