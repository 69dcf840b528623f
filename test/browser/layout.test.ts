/** Keyboard use, labels, visible focus, and a phone-width layout for every view. */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { errorsOf, openConsole, PHONE, scrollWidth, useBrowser } from "./browser";

const browser = useBrowser();

/** What has the focus: its role or tag, its name, and whether a focus ring is drawn. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    return {
      role: el.getAttribute("role") ?? el.tagName.toLowerCase(),
      name: (el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 40),
      id: el.id,
      ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    };
  });

const VIEWS = ["Leaderboards", "Counters", "Locks", "Cache", "Cache stats", "Feed"];

describe("layout and keyboard", () => {
  it("labels every field", async () => {
    const page = await openConsole(browser.context);
    const unlabeled = await page.locator("input, select").evaluateAll((fields) =>
      fields.filter((f) => (f as HTMLInputElement).labels?.length === 0 && !f.getAttribute("aria-label")).map((f) => f.outerHTML),
    );
    expect(unlabeled).toEqual([]);
  });

  it("reaches every view with the keyboard, with a visible focus ring", async () => {
    const page = await openConsole(browser.context);
    await page.locator("body").focus();
    await page.keyboard.press("Tab");
    expect(await focused(page)).toMatchObject({ role: "a", name: "Skip to the current view", ring: true });
    await page.keyboard.press("Tab");
    expect(await focused(page)).toMatchObject({ role: "button", name: "Forget token", ring: true });
    await page.keyboard.press("Tab");
    expect(await focused(page)).toMatchObject({ role: "tab", name: "Leaderboards", ring: true });

    // Arrows, Home and End move between tabs and show their panels; only the selected tab is in the Tab order.
    await page.keyboard.press("ArrowRight");
    expect(await focused(page)).toMatchObject({ role: "tab", name: "Counters", ring: true });
    expect(await page.getByRole("tabpanel", { name: "Counters" }).isVisible()).toBe(true);
    expect(await page.getByRole("tabpanel", { name: "Leaderboards" }).isVisible()).toBe(false);
    expect(new URL(page.url()).hash).toBe("#counters");
    await page.keyboard.press("End");
    expect(await focused(page)).toMatchObject({ role: "tab", name: "Feed" });
    await page.keyboard.press("ArrowRight");
    expect(await focused(page)).toMatchObject({ role: "tab", name: "Leaderboards" });
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("Home");
    expect(await focused(page)).toMatchObject({ role: "tab", name: "Leaderboards" });

    // Tab leaves the tab list for the panel, then its first field.
    await page.keyboard.press("Tab");
    expect(await focused(page)).toMatchObject({ role: "tabpanel", id: "panel-leaderboards", ring: true });
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).name)).toBe("board");
    expect((await focused(page)).ring).toBe(true);
    expect(errorsOf(page)).toEqual([]);
  });

  it("fits a 375 px wide screen in every view", async () => {
    const page = await openConsole(browser.context);
    await page.setViewportSize(PHONE);
    for (const view of VIEWS) {
      await page.getByRole("tab", { name: view, exact: true }).click();
      expect(await scrollWidth(page), `${view} scrolls sideways`).toBeLessThanOrEqual(PHONE.width);
    }
    expect(errorsOf(page)).toEqual([]);
  });
});
