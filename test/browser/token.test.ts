/**
 * The token gate: asked for once, kept in sessionStorage (never in a URL), sent as a bearer
 * header on every call, and asked for again after a 401.
 */
import type { Request } from "playwright-core";
import { describe, expect, it } from "vitest";
import { baseUrl, errorsOf, newConsolePage, snapshot, token, tokenInput, useBrowser } from "./browser";

const STORAGE_KEY = "edge-redis-functions.console.token";
const browser = useBrowser();

describe("API token", () => {
  it("is asked for once, kept in sessionStorage, sent as a bearer header and never put in a URL", async () => {
    const page = await newConsolePage(browser.context);
    const apiRequests: Request[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname.startsWith("/v1/")) apiRequests.push(request);
    });

    const dialog = page.getByRole("dialog", { name: "API token" });
    await dialog.waitFor();
    await snapshot(page, "token");

    // A wrong token: the first call (the feed) answers 401 and the dialog comes back, saying so.
    await tokenInput(page).fill("not-the-token");
    await page.getByRole("button", { name: "Use token" }).click();
    await dialog.getByRole("alert").filter({ hasText: "refused the token" }).waitFor();

    await tokenInput(page).fill(token);
    await page.getByRole("button", { name: "Use token" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(await page.evaluate((key) => sessionStorage.getItem(key), STORAGE_KEY)).toBe(token);

    // A call the user makes carries the new token.
    await page.getByRole("textbox", { name: "Board", exact: true }).fill("token-test");
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(() => apiRequests.some((r) => r.url().includes("/v1/leaderboards/token-test"))).toBe(true);

    const authorizations = await Promise.all(apiRequests.map((r) => r.headerValue("authorization")));
    expect(authorizations).toContain(`Bearer ${token}`);
    expect(authorizations.every((value) => value === `Bearer ${token}` || value === "Bearer not-the-token")).toBe(true);
    for (const url of [page.url(), ...apiRequests.map((r) => r.url())]) {
      expect(url).not.toContain(token);
      expect(url).not.toContain("not-the-token");
    }

    // Kept across a reload of the tab: no dialog.
    await page.reload();
    await page.getByRole("button", { name: "Forget token" }).waitFor();
    expect(await dialog.isVisible()).toBe(false);

    // "Forget token" forgets it.
    await page.getByRole("button", { name: "Forget token" }).click();
    await dialog.waitFor();
    expect(await page.evaluate((key) => sessionStorage.getItem(key), STORAGE_KEY)).toBeNull();
    expect(errorsOf(page)).toEqual([]);
  });

  it("brings the dialog back when a view's call answers 401", async () => {
    const page = await newConsolePage(browser.context);
    await tokenInput(page).fill(token);
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByRole("dialog").waitFor({ state: "hidden" });

    // The token is revoked (here: replaced) while the page is open.
    await page.evaluate((key) => sessionStorage.setItem(key, "revoked"), STORAGE_KEY);
    await page.getByRole("textbox", { name: "Board", exact: true }).fill("token-test");
    await page.getByRole("button", { name: "Show" }).click();
    const dialog = page.getByRole("dialog", { name: "API token" });
    await dialog.getByRole("alert").filter({ hasText: "refused the token" }).waitFor();
    // The view shows the problem too.
    await page.locator("#panel-leaderboards .error").filter({ hasText: "Unauthorized (401)" }).waitFor();
    expect(await page.evaluate((key) => sessionStorage.getItem(key), STORAGE_KEY)).toBeNull();
    expect(page.url()).toBe(`${baseUrl}/console/#leaderboards`);
    expect(errorsOf(page)).toEqual([]);
  });
});
