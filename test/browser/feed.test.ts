/**
 * The feed view in Chromium against a stream of the /v1/events contract, answered in the
 * browser (page.route) so the events, the stream's end and the error are exact: events are
 * drawn newest first, and after the stream ends the page reconnects with Last-Event-ID and the
 * bearer header, and shows the next error visibly. The same view against the real route is
 * events.test.ts.
 */
import type { Request } from "playwright-core";
import { describe, expect, it } from "vitest";
import { errorsOf, openConsole, snapshot, token, useBrowser } from "./browser";

const browser = useBrowser();

const event = (id: string, data: object) => `id: ${id}\nevent: invalidation\ndata: ${JSON.stringify(data)}\n\n`;

describe("feed view (contract stream)", () => {
  it("draws each invalidation, then reconnects with Last-Event-ID and shows the next error", async () => {
    const requests: Request[] = [];
    await browser.context.route("**/v1/events*", (route) => {
      requests.push(route.request());
      if (requests.length === 1) {
        return route.fulfill({
          status: 200,
          headers: { "Content-Type": "text/event-stream" },
          body:
            ": heartbeat\n\n" +
            event("17-0", { tags: ["users", "user:42"], keys: [], mode: "hard", at: "2026-04-20T12:00:00.000Z" }) +
            event("18-0", { tags: ["prices"], keys: ["sku:9"], mode: "soft", at: "2026-04-20T12:00:05.000Z" }),
        });
      }
      return route.fulfill({
        status: 503,
        contentType: "application/problem+json",
        body: JSON.stringify({ type: "urn:problem:redis-unavailable", title: "Redis unavailable", status: 503, detail: "The data store did not answer in time; retry later" }),
      });
    });

    const page = await openConsole(browser.context, "#feed");
    const items = page.locator("#feed-list > li");
    await expect.poll(() => items.count()).toBe(2);
    expect(await items.nth(0).innerText()).toMatch(/soft\s+tags\s+prices\s+keys\s+sku:9/);
    expect(await items.nth(1).innerText()).toMatch(/hard\s+tags\s+users\s+user:42/);
    expect(await page.locator("#feed-empty").isVisible()).toBe(false);

    await expect.poll(() => requests.length).toBeGreaterThanOrEqual(2);
    expect(requests[0]!.url()).toMatch(/\/v1\/events$/);
    expect(requests[1]!.headers()).toMatchObject({ authorization: `Bearer ${token}`, "last-event-id": "18-0", accept: "text/event-stream" });
    await expect.poll(() => page.locator("#feed-status").innerText()).toMatch(
      /^Disconnected \(503 Redis unavailable: The data store did not answer in time; retry later\); retrying in /,
    );

    // The filter goes in the query as the contract has it: ?tags=a,b
    const panel = page.getByRole("tabpanel", { name: "Feed" });
    await panel.getByRole("textbox", { name: /^Only tags/ }).fill("users, prices");
    await panel.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => requests.at(-1)?.url()).toMatch(/\/v1\/events\?tags=users,prices$/);

    // Not "feed": that name is events.test.ts's screenshot of the real route, which this
    // faked stream (ending "Disconnected") would otherwise overwrite.
    await snapshot(page, "feed-contract");
    await browser.context.unrouteAll();
    expect(errorsOf(page)).toEqual([]);
  });
});
