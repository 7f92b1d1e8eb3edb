/**
 * bench/report: runs every benchmark, one after another (they measure CPU, so never two at a
 * time), and rewrites the section "Latest full run" of BENCHMARKS.md with what each printed:
 * every figure there sits beside the baseline it was measured against in the same run. The
 * sessions' sections below it (profiles, what was tried, A/B runs) are written by hand.
 *
 *   cd bench && npx -y pnpm@10 bench            # all of them
 *   RUN=reqres,server-path npx -y pnpm@10 bench   # some, the rest of the section kept as it was
 *
 * A benchmark that fails or cannot run here (no JDK for ZooKeeper's classes, no redis-server)
 * is reported as such in its place; the run goes on, and exits non-zero at the end.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";

/** The benchmarks, in the order they run, each a script of bench/package.json. */
const BENCHMARKS = [
  "expiry-queue",
  "length-prefix",
  "server-path",
  "server-gc",
  "ping-path",
  "reqres",
  "reqres-promoted",
  "fanout",
  "expiry-precision",
  "idle-scale",
  "idle-heap",
  "zookeeper-touches",
  "cluster-touches",
  "cluster-request-path",
];
const BEGIN = "<!-- latest-full-run:begin (written by `cd bench && npx -y pnpm@10 bench`) -->";
const END = "<!-- latest-full-run:end -->";
const TIMEOUT_MS = 30 * 60_000;

const file = fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url));
const only = process.env.RUN?.split(",").filter((name) => name !== "");
for (const name of only ?? []) {
  if (!BENCHMARKS.includes(name))
    throw new Error(`unknown benchmark ${name}; known: ${BENCHMARKS.join(", ")}`);
}

const markdown = readFileSync(file, "utf8");
const begin = markdown.indexOf(BEGIN);
const end = markdown.indexOf(END);
if (begin < 0 || end < begin) throw new Error(`BENCHMARKS.md has no section between ${BEGIN} and ${END}`);
const previous = parseSection(markdown.slice(begin + BEGIN.length, end));

let failed = 0;
for (const name of only ?? BENCHMARKS) {
  console.log(`bench: ${name} ...`);
  const started = Date.now();
  const result = runScript(name);
  const seconds = Math.round((Date.now() - started) / 1000);
  const output = result.stdout.trim();
  const ok = result.status === 0;
  if (!ok) failed++;
  console.log(output);
  if (!ok) console.error(lastLines(result.stderr));
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  const heading = `Command: \`cd bench && npx -y pnpm@10 ${name}\`; ${when} UTC, ${seconds} s, ${machine()}`;
  const body = ok
    ? output
    : `${output}\n\nFAILED (exit ${result.status ?? result.signal}):\n${lastLines(result.stderr)}`;
  previous.set(name, `### ${name}\n\n${heading}.\n\n\`\`\`\n${body}\n\`\`\`\n`);
  // Written after each benchmark, so a long run interrupted keeps what it measured.
  writeFileSync(file, withSection(previous));
}
if (failed > 0) {
  console.error(`bench: ${failed} benchmark(s) failed or could not run; see BENCHMARKS.md`);
  process.exitCode = 1;
}

function runScript(name: string) {
  // Inside `pnpm run`, npm_execpath is pnpm itself: run the script with the same pnpm.
  const pnpm = process.env.npm_execpath;
  const [command, args] =
    pnpm === undefined
      ? ["pnpm", ["--silent", "run", name]]
      : [process.execPath, [pnpm, "--silent", "run", name]];
  return spawnSync(command, args, {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    encoding: "utf8",
    timeout: TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function machine(): string {
  return `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"})`;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-20).join("\n");
}

/** The section's benchmarks by name, so a partial run replaces only what it ran. */
function parseSection(section: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const part of section.split(/^(?=### )/m)) {
    const name = /^### (\S+)/.exec(part)?.[1];
    if (name !== undefined && BENCHMARKS.includes(name)) entries.set(name, `${part.trim()}\n`);
  }
  return entries;
}

/** The file as it is now (edits made by hand during a long run are kept), with the section replaced. */
function withSection(entries: Map<string, string>): string {
  const current = readFileSync(file, "utf8");
  const from = current.indexOf(BEGIN);
  const to = current.indexOf(END);
  if (from < 0 || to < from) throw new Error(`BENCHMARKS.md lost its section between ${BEGIN} and ${END}`);
  const parts = BENCHMARKS.filter((name) => entries.has(name)).map((name) => entries.get(name));
  return `${current.slice(0, from + BEGIN.length)}\n\n${parts.join("\n")}\n${current.slice(to)}`;
}
