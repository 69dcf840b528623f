/**
 * The live invalidation feed, against GET /v1/events (Server-Sent Events): each invalidation
 * arrives as `event: invalidation`, `id: <string>`, `data: {"tags","keys","mode","at"}`, with
 * heartbeat comments at least every 30 s; `?tags=a,b` narrows the stream to those tags.
 * This file checks the console's feed view against the Worker's real route: it connects, an
 * invalidation made through the API is drawn with its mode and id, and the tag filter keeps
 * out an unrelated tag. The route's own contract is tested in test/worker/events-route.test.ts.
 */
import { describe, expect, it } from "vitest";
import { api, errorsOf, openConsole, snapshot, uid, useBrowser } from "./browser";

const browser = useBrowser();

describe("invalidation feed", () => {
  it("shows an invalidation as it happens", async () => {
    const page = await openConsole(browser.context, "#feed");
    const status = page.locator("#feed-status");
    await expect.poll(() => status.innerText(), { timeout: 20_000 }).toMatch(/^Connected since /);

    const tag = `e2e-feed-${uid()}`;
    await api("/v1/cache/invalidate", { body: { tags: [tag], mode: "soft" } });
    const item = page.locator("#feed-list > li").filter({ hasText: tag });
    await item.waitFor({ timeout: 15_000 });
    expect(await item.locator(".badge").innerText()).toBe("soft");
    expect(await item.getAttribute("data-id")).not.toBe("");

    await snapshot(page, "feed");
    expect(errorsOf(page)).toEqual([]);
  });

  it("narrows the stream to the tags asked for", async () => {
    const page = await openConsole(browser.context, "#feed");
    const wanted = `e2e-wanted-${uid()}`;
    const other = `e2e-other-${uid()}`;
    const panel = page.getByRole("tabpanel", { name: "Feed" });
    await panel.getByRole("textbox", { name: /^Only tags/ }).fill(wanted);
    await panel.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.locator("#feed-status").innerText(), { timeout: 20_000 }).toMatch(new RegExp(`^Connected since .* · tags ${wanted}( · |$)`));

    await api("/v1/cache/invalidate", { body: { tags: [other] } });
    await api("/v1/cache/invalidate", { body: { tags: [wanted] } });
    await page.locator("#feed-list > li").filter({ hasText: wanted }).waitFor({ timeout: 15_000 });
    expect(await page.locator("#feed-list").innerText()).not.toContain(other);
    expect(errorsOf(page)).toEqual([]);
  });
});
