/** Leaderboards view: scores submitted through the API appear on the board, by period, live. */
import { describe, expect, it } from "vitest";
import { api, errorsOf, openConsole, snapshot, uid, useBrowser } from "./browser";

const browser = useBrowser();

describe("leaderboards view", () => {
  it("shows the top N of a period, a member with neighbours, and new scores live", async () => {
    const board = `e2e-board-${uid()}`;
    await api(`/v1/leaderboards/${board}/scores/batch`, {
      body: {
        entries: [
          { member: "alice", score: 1250, name: "Alice" },
          { member: "bob", score: 980, name: "Bob" },
          { member: "carol", score: 1500, name: "Carol" },
          { member: "dave", score: 700 },
          { member: "erin", score: 1100, name: "Erin" },
          { member: "frank", score: 300 },
        ],
      },
    });

    const page = await openConsole(browser.context, "#leaderboards");
    const panel = page.getByRole("tabpanel", { name: "Leaderboards" });
    await panel.getByRole("textbox", { name: "Board", exact: true }).fill(board);
    await panel.getByRole("combobox", { name: "Period" }).selectOption("weekly");
    await panel.getByRole("spinbutton", { name: "Top" }).fill("5");
    await panel.getByRole("button", { name: "Show" }).click();

    const top = page.locator("#lb-table tbody tr");
    await expect.poll(() => top.allInnerTexts()).toEqual([
      "1\tCarol (carol)\t1,500",
      "2\tAlice (alice)\t1,250",
      "3\tErin (erin)\t1,100",
      "4\tBob (bob)\t980",
      "5\tdave\t700",
    ]);
    expect(await page.locator("#lb-meta").innerText()).toMatch(new RegExp(`^${board} · weekly \\d{4}-W\\d{2} · 6 members`));

    // A member that is not on the board: the API's 404 problem is shown.
    await panel.getByRole("textbox", { name: "Member", exact: true }).fill("nobody");
    await panel.getByRole("button", { name: "Look up" }).click();
    await panel.getByRole("alert").filter({ hasText: "Not found (404)" }).filter({ hasText: "nobody" }).waitFor();

    await panel.getByRole("textbox", { name: "Member", exact: true }).fill("erin");
    await panel.getByRole("button", { name: "Look up" }).click();
    const around = page.locator("#lb-around tbody tr");
    await expect.poll(() => around.count()).toBe(5);
    expect(await around.allInnerTexts()).toEqual([
      "1\tCarol (carol)\t1,500",
      "2\tAlice (alice)\t1,250",
      "3\tErin (erin)\t1,100",
      "4\tBob (bob)\t980",
      "5\tdave\t700",
    ]);
    expect(await page.locator('#lb-around tr[aria-current="true"]').innerText()).toContain("Erin");
    expect(await page.locator("#lb-member-meta").innerText()).toMatch(/^erin is #3 of 6 with 1,100 \(weekly /);
    expect(await page.locator("#lb-member-form + .error").isVisible()).toBe(false); // the 404 is cleared

    // Live: a new best score shows up without another click.
    await panel.getByRole("checkbox", { name: /Live/ }).check();
    await api(`/v1/leaderboards/${board}/scores`, { body: { member: "grace", score: 2000, name: "Grace" } });
    await top.first().filter({ hasText: "Grace (grace)" }).waitFor({ timeout: 15_000 });
    await panel.getByRole("checkbox", { name: /Live/ }).uncheck();

    await snapshot(page, "leaderboards");
    expect(errorsOf(page)).toEqual([]);
  });
});
