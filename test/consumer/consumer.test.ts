// The packages as a user gets them: packed into tarballs, installed with npm into a scratch
// project outside the workspace, typechecked strictly (no skipLibCheck) with moduleResolution
// node16 and bundler, and run from an ESM script and from a require() script, each doing a
// request over TCP and over WebSocket. Needs the registry for the packages' own dependencies.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGES = ["core", "transport-tcp", "transport-ws"];
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
let project: string;

const scenario = (load: string) => `${load}
async function main() {
  const server = createServer({ tickTime: 500 });
  server.handle("hello", (name) => "hello " + name);
  const onTcp = await server.listen(tcp(), "127.0.0.1:0");
  const onWs = await server.listen(webSocket(), "127.0.0.1:0");
  const answers = [];
  for (const [transport, address] of [[tcp(), onTcp.address], [webSocket(), onWs.address]]) {
    const client = createClient({ servers: [{ transport, address }], timeout: 3000 });
    answers.push(await client.request("hello", "consumer"));
    await client.close();
  }
  await server.close();
  console.log(JSON.stringify(answers));
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

const typed = `import { createClient, createServer, type TetherClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { webSocket, WsConnection } from "@tether/transport-ws";
const server = createServer();
server.handle("hello", (name: unknown) => \`hello \${String(name)}\`);
const client: TetherClient = createClient({ servers: [{ transport: tcp(), address: "127.0.0.1:1" }] });
export const parts = [server, client, webSocket(), WsConnection];
`;

beforeAll(async () => {
  await run("npx", ["tsc", "-b"], { cwd: root });
  project = mkdtempSync(join(tmpdir(), "tether-consumer-"));
  const tarballs: string[] = [];
  for (const name of PACKAGES) {
    const { stdout } = await run("npx", ["-y", "pnpm@10", "pack", "--pack-destination", project], {
      cwd: join(root, "packages", name),
    });
    tarballs.push(stdout.trim().split("\n").at(-1) as string);
  }
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  // A Node project has Node's types; everything else the packages' types need comes with them.
  const install = ["install", "--no-audit", "--no-fund", "--loglevel=error", "@types/node@20", ...tarballs];
  await run("npm", install, { cwd: project });
  writeFileSync(join(project, "typed.ts"), typed);
  writeFileSync(
    join(project, "esm.mjs"),
    scenario(`import { createClient, createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";`),
  );
  writeFileSync(
    join(project, "cjs.cjs"),
    scenario(`const { createClient, createServer } = require("@tether/core");
const { tcp } = require("@tether/transport-tcp");
const { webSocket } = require("@tether/transport-ws");`),
  );
}, 240_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe("the packed packages in a project of their own", () => {
  for (const [module, moduleResolution] of [
    ["node16", "node16"],
    ["esnext", "bundler"],
  ]) {
    it(`typecheck strictly with moduleResolution ${moduleResolution}`, async () => {
      const args = [tsc, "--noEmit", "--strict", "--module", module as string];
      args.push("--moduleResolution", moduleResolution as string, "--target", "es2022", "typed.ts");
      const result = await run(process.execPath, args, { cwd: project }).catch(
        (error: { stdout: string }) => error,
      );
      expect(result.stdout).toBe("");
    });
  }

  it("run from an ESM script: a request over TCP and over WebSocket", async () => {
    const { stdout } = await run(process.execPath, ["esm.mjs"], { cwd: project, timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual(["hello consumer", "hello consumer"]);
  });

  it("run from a require() script", async () => {
    const { stdout } = await run(process.execPath, ["cjs.cjs"], { cwd: project, timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual(["hello consumer", "hello consumer"]);
  });
});
