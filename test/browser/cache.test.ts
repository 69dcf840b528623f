/** Cache view: an entry's value, tags, age and X-Cache; invalidation by tag. */
import { describe, expect, it } from "vitest";
import { api, errorsOf, openConsole, snapshot, uid, useBrowser } from "./browser";

const browser = useBrowser();

describe("cache view", () => {
  it("looks up an entry, invalidates its tag, and then shows the miss", async () => {
    const id = uid();
    const key = `e2e/user:${id}`; // a "/" in a key must be percent-encoded by the page
    const tag = `e2e-users-${id}`;
    await api(`/v1/cache/${encodeURIComponent(key)}`, {
      method: "PUT",
      body: { value: { name: "Ada", roles: ["admin"] }, ttl: 300, tags: [tag, `user:${id}`] },
    });

    const page = await openConsole(browser.context, "#cache");
    const panel = page.getByRole("tabpanel", { name: "Cache", exact: true });
    await panel.getByRole("textbox", { name: "Key", exact: true }).fill(key);
    await panel.getByRole("button", { name: "Look up" }).click();

    const entry = page.locator("#cache-entry");
    await entry.getByText("X-Cache: HIT").waitFor();
    expect(await entry.locator(".chips li").allInnerTexts()).toEqual([tag, `user:${id}`]);
    expect(await entry.locator("pre").innerText()).toBe(JSON.stringify({ name: "Ada", roles: ["admin"] }, null, 2));
    expect(await entry.innerText()).toMatch(/Age\s+\d+ s/);
    await snapshot(page, "cache");

    await panel.getByRole("textbox", { name: /^Tags/ }).fill(tag);
    await panel.getByRole("button", { name: "Invalidate" }).click();
    await page.locator("#invalidate-result").getByText(`Invalidated ${tag} (hard)`).waitFor();

    await panel.getByRole("button", { name: "Look up" }).click();
    await entry.getByText("MISS", { exact: true }).waitFor();
    expect(errorsOf(page)).toEqual([]);
  });
});
