/** Counters view: a counter's last hour as a chart, and a rate-limit policy's state (peeked). */
import { describe, expect, it } from "vitest";
import { api, errorsOf, openConsole, snapshot, uid, useBrowser } from "./browser";

const browser = useBrowser();

describe("counters view", () => {
  it("charts a windowed counter per minute and peeks at a rate-limit policy", async () => {
    const name = `e2e-counter-${uid()}`;
    for (const by of [3, 4, 5]) await api(`/v1/counters/${name}`, { body: { by } });

    const page = await openConsole(browser.context, "#counters");
    const panel = page.getByRole("tabpanel", { name: "Counters" });
    await panel.getByRole("textbox", { name: "Counter", exact: true }).fill(name);
    await panel.getByRole("button", { name: "Show last hour" }).click();

    const chart = page.locator("#counter-chart svg");
    await chart.waitFor();
    expect(await chart.getAttribute("aria-label")).toContain(`${name}: hits per minute over the last hour, total 12`);
    expect(await page.locator("#counter-caption").innerText()).toContain("total 12");
    // 60 minutes; the hits fall in one minute (two if a minute ended between them): bars with height.
    expect(await page.locator("#counter-chart .bar-group").count()).toBe(60);
    const heights = await page.locator("#counter-chart rect.bar").evaluateAll((bars) => bars.map((b) => Number(b.getAttribute("height"))));
    expect(heights.length).toBeGreaterThanOrEqual(1);
    expect(heights.length).toBeLessThanOrEqual(2);
    expect(Math.max(...heights)).toBeGreaterThan(50);
    await panel.getByRole("textbox", { name: "Identifier", exact: true }).fill(`e2e-${uid()}`);
    await panel.getByRole("button", { name: "Peek" }).click();
    const state = page.locator("#rate-state");
    await state.getByText("Allowed", { exact: true }).waitFor();
    expect(await state.innerText()).toMatch(/Remaining 3,000 of 3,000/);

    await snapshot(page, "counters");

    // The same numbers as a table, one row per minute.
    await panel.getByText("Data table").click();
    const counts = await page.locator("#counter-data tbody td").allInnerTexts();
    expect(counts).toHaveLength(60);
    expect(counts.reduce((sum, n) => sum + Number(n), 0)).toBe(12);

    // A policy that is not configured: the problem's title and detail are shown.
    await panel.getByRole("textbox", { name: "Policy", exact: true }).fill("no-such-policy");
    await panel.getByRole("button", { name: "Peek" }).click();
    await panel.getByRole("alert").filter({ hasText: 'Unknown policy (404): No rate-limit policy named "no-such-policy"' }).waitFor();
    expect(errorsOf(page)).toEqual([]);
  });
});
