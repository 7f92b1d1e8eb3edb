// Tether over real TCP between two network namespaces (test/support/netns-lab.ts): a pulled
// cable, packet loss, a slow link carrying a large answer or a large request, and an answer over
// the client's frame limit. Real time, with T of 3 s or 6 s; the bounds below are the liveness
// rules of docs/PROTOCOL.md with a tick or two of slack. Needs Linux, root, iproute2 and
// nftables; elsewhere the suite is skipped and says why.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NetnsLab, netnsMissing, type Peer, type PeerEvent } from "../support/netns-lab.js";

const missing = netnsMissing();
if (missing) console.warn(`real-network suite skipped: ${missing}`);

const TICK = 500;
const KB = 1000;
const MiB = 1024 * 1024;

let lab: NetnsLab;

beforeAll(async () => {
  if (!missing) lab = await NetnsLab.create();
});
afterEach(async () => {
  lab?.stopPeers();
  await lab?.restore();
});
afterAll(async () => {
  await lab?.close();
});

async function connect(timeout: number, client: { maxFrameBytes?: number } = {}) {
  const server = lab.peer("server");
  const address = await server.call<string>("server", { tickTime: TICK });
  const peer = lab.peer("client");
  const sessionId = await peer.call<string>("client", { address, timeout, ...client });
  return { server, client: peer, sessionId };
}

async function until(
  what: string,
  events: PeerEvent[],
  match: (event: PeerEvent) => boolean,
  within: number,
) {
  const deadline = Date.now() + within;
  for (;;) {
    const found = events.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const states = (peer: Peer) => peer.events.filter((e) => e.kind === "state").map((e) => e.value);
const expiries = (peer: Peer) => peer.events.filter((e) => e.kind === "expire");

describe.skipIf(missing !== undefined)("real network (two namespaces, a veth pair, tc and nftables)", () => {
  it("a pulled cable: the client notices by 2T/3 and the server expires the session by T", async () => {
    const T = 3000;
    const { server, client, sessionId } = await connect(T);
    const cutAt = Date.now();
    await lab.cut();
    const disconnected = await until("disconnect", client.events, (e) => e.value === "disconnected", 2 * T);
    const expired = await until("expiry", server.events, (e) => e.kind === "expire", 2 * T);
    expect(expired.session).toBe(sessionId);
    // The last frame each side heard left at most T/3 (one ping interval) before the cut.
    expect(disconnected.at - cutAt).toBeGreaterThanOrEqual((2 * T) / 3 - T / 3 - TICK);
    expect(disconnected.at - cutAt).toBeLessThanOrEqual((2 * T) / 3 + 2 * TICK);
    expect(expired.at - cutAt).toBeGreaterThanOrEqual(T - T / 3 - TICK);
    expect(expired.at - cutAt).toBeLessThanOrEqual(T + 2 * TICK);
    expect(disconnected.at).toBeLessThan(expired.at);
  }, 20_000);

  it("a cut shorter than T: the client reconnects and resumes the same session", async () => {
    const T = 6000;
    const { server, client, sessionId } = await connect(T);
    await lab.cut();
    await until("disconnect", client.events, (e) => e.value === "disconnected", T);
    await new Promise((resolve) => setTimeout(resolve, 4500 - (2 * T) / 3));
    await lab.restore();
    const resumed = await until("reconnect", client.events, (e) => e.value === "connected", T);
    expect(resumed.session).toBe(sessionId);
    expect(await client.call("request", { op: "echo", body: "still here" })).toEqual({
      answer: "still here",
    });
    expect(expiries(server)).toEqual([]);
  }, 30_000);

  it("10% loss both ways: every request is answered once and runs once, and the session lives", async () => {
    const T = 3000;
    const { server, client } = await connect(T);
    await lab.loss(10);
    const count = 60;
    const { answered, failed } = await client.call<{ answered: Record<number, number>; failed: object }>(
      "stream",
      {
        count,
        every: 100,
        timeout: 15_000,
      },
    );
    await lab.restore();
    expect(failed).toEqual({});
    const once = Object.fromEntries(Array.from({ length: count }, (_, n) => [n, 1]));
    expect(answered).toEqual(once);
    expect(await server.call("runs")).toEqual(once);
    expect(expiries(server)).toEqual([]);
    expect(states(client)).not.toContain("expired");
  }, 40_000);

  it("a 900 kB answer over a 2 Mbit/s link arrives, though it takes longer than 2T/3", async () => {
    const T = 3000;
    const { server, client } = await connect(T);
    await lab.shape("server", 2000);
    const started = Date.now();
    expect(await client.call("request", { op: "big", body: 900 * KB })).toEqual({
      answer: { bytes: 900 * KB },
    });
    expect(Date.now() - started).toBeGreaterThan((2 * T) / 3);
    expect(states(client)).toEqual(["connected"]);
    expect(expiries(server)).toEqual([]);
  }, 30_000);

  it("a 900 kB request over a 2 Mbit/s link is answered, and its session outlives the upload", async () => {
    const T = 3000;
    const { server, client } = await connect(T);
    await lab.shape("client", 2000);
    const started = Date.now();
    expect(await client.call("request", { op: "upload", bodyBytes: 900 * KB })).toEqual({ answer: 900 * KB });
    expect(Date.now() - started).toBeGreaterThan((2 * T) / 3);
    expect(states(client)).toEqual(["connected"]);
    expect(expiries(server)).toEqual([]);
  }, 30_000);

  it("an answer over the client's frame limit fails alone, with no disconnect", async () => {
    const T = 3000;
    const { server, client } = await connect(T, { maxFrameBytes: MiB });
    expect(await client.call("request", { op: "big", body: 2 * MiB })).toEqual({
      error: { name: "RequestError", code: "answer-too-large" },
    });
    expect(await client.call("request", { op: "echo", body: "next" })).toEqual({ answer: "next" });
    expect(states(client)).toEqual(["connected"]);
    expect(expiries(server)).toEqual([]);
  }, 20_000);
});
