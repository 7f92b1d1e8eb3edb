import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, so no build is needed before `vitest`.
    alias: {
      "@tether/core": src("core"),
      "@tether/transport-tcp": src("transport-tcp"),
      "@tether/transport-ws": src("transport-ws"),
      "@tether/transport-memory": src("transport-memory"),
      "@tether/transport-conformance": src("transport-conformance"),
      "@tether/store-conformance": src("store-conformance"),
      "@tether/prometheus": src("prometheus"),
      "@tether/cluster-redis": src("cluster-redis"),
    },
  },
  test: {
    // CI asks for a JSON report (TETHER_TEST_REPORT=path) to print its pass/fail line.
    reporters: process.env.TETHER_TEST_REPORT
      ? ["default", ["json", { outputFile: process.env.TETHER_TEST_REPORT }]]
      : ["default"],
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "examples/*/**/*.test.ts"],
    // Hostile-input tests weigh the heap after a full collection.
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
