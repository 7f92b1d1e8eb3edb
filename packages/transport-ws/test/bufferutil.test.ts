// `bufferutil` (an optional dependency) masks WebSocket frames natively: two to three times the
// throughput at 16 KiB (BENCHMARKS.md). pnpm 10 and npm 11 skip or warn about its install
// script; it must load from its prebuilt binaries without one.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { expect, it } from "vitest";

const require = createRequire(import.meta.url);

it.skipIf(process.platform !== "linux" || process.arch !== "x64")(
  "loads natively from its prebuilds, with no build step",
  () => {
    const entry = require.resolve("bufferutil");
    const bufferutil = require("bufferutil") as { mask: unknown };
    const fallback = require(join(dirname(entry), "fallback.js")) as { mask: unknown };
    expect(existsSync(join(dirname(entry), "build"))).toBe(false); // nothing was compiled
    expect(bufferutil.mask).not.toBe(fallback.mask);
  },
);
