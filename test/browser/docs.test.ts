/**
 * The API docs page (/docs): Swagger UI renders this Worker's OpenAPI document from the
 * Worker's own assets; the page loads nothing from any other origin.
 */
import { describe, expect, it } from "vitest";
import { baseUrl, errorsOf, snapshot, useBrowser } from "./browser";

const browser = useBrowser();

describe("docs page", () => {
  it("renders every feature's operations from the Worker's own assets, loading nothing from another origin", async () => {
    const page = await browser.context.newPage();
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    await page.goto(`${baseUrl}/docs`);
    for (const tag of ["cache", "rate limiting", "counters", "leaderboards", "locks"]) {
      await page.locator(`[data-tag="${tag}"]`).first().waitFor({ timeout: 30_000 });
    }
    expect(await page.locator(".opblock").count()).toBeGreaterThan(20);
    const origin = new URL(baseUrl).origin;
    expect(requested.filter((url) => !url.startsWith(origin) && !url.startsWith("data:"))).toEqual([]);
    expect(requested).toContain(`${origin}/docs/vendor/swagger-ui-bundle.js`);
    expect(errorsOf(page)).toEqual([]);
    await snapshot(page, "docs");
  });
});
