import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../test/support/browser.js";
import { type Demo, startDemo } from "./demo.js";

describe("demo dashboard in headless Chromium", () => {
  let demo: Demo;
  let browser: Browser;

  beforeAll(async () => {
    demo = await startDemo({ port: 0, clients: 8, timeout: 1500, tickTime: 250, respawnAfter: 0 });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it("shows the demo's sessions, and a black-holed client visibly moves to expired", async () => {
    const page = await browser.newPage();
    await page.goto(demo.url);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-state="connected"]').length === 8,
      null,
      {
        timeout: 10_000,
      },
    );
    expect(await page.locator("tbody tr").count()).toBe(8);
    expect(await page.locator("#s-sessions").textContent()).toBe("8");
    // The expiry queue is drawn: buckets with every client in one of them.
    await page.waitForFunction(() => document.querySelectorAll("#axis .chip").length === 8, null, {
      timeout: 5000,
    });

    const row = page.locator('tr[data-client="tcp-00"]');
    await row.locator('button[data-action="blackhole"]').click();
    await page.waitForFunction(
      () =>
        document.querySelector('tr[data-client="tcp-00"] [data-state]')?.getAttribute("data-state") ===
        "disconnected",
      null,
      { timeout: 5000 },
    );
    await page.waitForFunction(
      () =>
        document.querySelector('tr[data-client="tcp-00"] [data-state]')?.getAttribute("data-state") ===
        "expired",
      null,
      { timeout: 5000 },
    );
    // The server's side of it: the session leaves the expiry queue (the client may notice first).
    await page.waitForFunction(
      () => document.querySelector('tr[data-client="tcp-00"] .left em')?.textContent === "gone",
      null,
      { timeout: 5000 },
    );
    // Everyone else is untouched.
    expect(await page.locator('[data-state="connected"]').count()).toBe(7);
    const stat = await (await fetch(`${demo.url}admin/stat`)).text();
    expect(stat).toContain("Sessions: 7");
    expect(await (await fetch(`${demo.url}admin/dump`)).text()).toContain("Session Sets");
    await page.screenshot({
      path: process.env.DASHBOARD_SCREENSHOT ?? "/tmp/tether-dashboard.png",
      fullPage: true,
    });
  });
});

describe("demo dashboard with a full bucket", () => {
  let demo: Demo;
  let browser: Browser;

  beforeAll(async () => {
    demo = await startDemo({ port: 0, clients: 30, timeout: 1500, tickTime: 250, respawnAfter: 0 });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it("keeps the chips inside the queue's panel, counts those it cannot show, and asks for nothing missing", async () => {
    const page = await browser.newPage();
    const missing: string[] = [];
    page.on("response", (response) => {
      if (response.status() >= 400) missing.push(response.url());
    });
    await page.goto(demo.url);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-state="connected"]').length === 30,
      null,
      {
        timeout: 10_000,
      },
    );
    await page.waitForFunction(() => document.querySelectorAll("#axis .bucket").length > 0, null, {
      timeout: 5000,
    });
    const layout = await page.evaluate(() => {
      const axis = (document.getElementById("axis") as HTMLElement).getBoundingClientRect();
      const header = (document.querySelector("header") as HTMLElement).getBoundingClientRect();
      const chips = Array.from(document.querySelectorAll("#axis .chip")).map((chip) =>
        chip.getBoundingClientRect(),
      );
      const shown = document.querySelectorAll("#axis .chip:not(.more)").length;
      const hidden = Array.from(document.querySelectorAll("#axis .chip.more")).reduce(
        (sum, chip) => sum + Number(chip.getAttribute("data-hidden")),
        0,
      );
      return {
        escaped: chips.filter((box) => box.top < axis.top || box.bottom > axis.bottom + 1).length,
        overHeader: chips.filter((box) => box.top < header.bottom).length,
        total: shown + hidden,
      };
    });
    expect(layout).toEqual({ escaped: 0, overHeader: 0, total: 30 });
    expect(missing).toEqual([]);
    // Browsers ask for /favicon.ico beside the page (not as a page request Playwright reports).
    expect((await fetch(`${demo.url}favicon.ico`)).status).toBeLessThan(400);
  });
});
