import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../test/support/browser.js";
import { startBrowserExample } from "./server.js";

type Status = { states: string[]; sessionIds: string[]; pushes: unknown[]; replies: unknown[] };

describe("the browser client in headless Chromium", () => {
  let example: Awaited<ReturnType<typeof startBrowserExample>>;
  let browser: Browser;

  beforeAll(async () => {
    example = await startBrowserExample();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await example?.stop();
  });

  it("opens a session, makes requests, takes pushes, and resumes after the server drops the connection", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(example.url);
    const status = () =>
      page.evaluate(() => (window as unknown as { tether: { status: Status } }).tether.status);
    await page.waitForFunction(
      () =>
        (window as unknown as { tether?: { client: { state: string } } }).tether?.client.state ===
        "connected",
    );
    await page.click("#ping");
    await page.waitForFunction(
      () => (window as unknown as { tether: { status: Status } }).tether.status.replies.length === 1,
    );
    expect((await status()).replies[0]).toMatchObject({ echoed: { sent: expect.any(Number) } });

    const [session] = [...example.server.sessions()];
    session?.push("news", "before the drop");
    await page.waitForFunction(
      () => (window as unknown as { tether: { status: Status } }).tether.status.pushes.length === 1,
    );

    await page.click("#drop");
    session?.push("news", "while disconnected");
    await page.waitForFunction(() => {
      const s = (window as unknown as { tether: { status: Status } }).tether.status;
      return s.states.filter((x) => x === "connected").length === 2;
    });
    await page.waitForFunction(
      () => (window as unknown as { tether: { status: Status } }).tether.status.pushes.length === 2,
    );
    const after = await status();
    expect(after.states).toEqual(["connected", "disconnected", "connected"]);
    expect(after.sessionIds).toHaveLength(1);
    expect(after.sessionIds[0]).toBe(session?.id);
    expect(after.pushes).toEqual(["before the drop", "while disconnected"]);
    expect(example.server.metrics().sessionsResumed).toBe(1);
    await page.click("#ping");
    await page.waitForFunction(
      () => (window as unknown as { tether: { status: Status } }).tether.status.replies.length === 2,
    );
    expect(errors).toEqual([]);
  });
});
