/**
 * Leaderboards view: the top N of a board in a period (GET /v1/leaderboards/{board}), a member
 * with two neighbours each side (GET /v1/leaderboards/{board}/members/{member}), and a "Live"
 * toggle that refreshes the top N every 3 s while this view is shown.
 */
import { requestJson, segment } from "../api.js";
import { clearError, el, errorSlotOf, fieldsOf, formatNumber, formatTime, liveForm, showError } from "../dom.js";

/**
 * @typedef {{ rank: number, member: string, score: number, name?: string }} Entry
 * @typedef {{ board: string, period: string, version: string, total: number, entries: Entry[] }} Page
 * @typedef {Entry & { board: string, period: string, version: string, total: number, around: Entry[] }} Standing
 */

/**
 * @param {HTMLElement} panel
 */
export function createLeaderboardsView(panel) {
  const form = /** @type {HTMLFormElement} */ (panel.querySelector("#lb-form"));
  const memberForm = /** @type {HTMLFormElement} */ (panel.querySelector("#lb-member-form"));
  const table = /** @type {HTMLTableElement} */ (panel.querySelector("#lb-table"));
  const around = /** @type {HTMLTableElement} */ (panel.querySelector("#lb-around"));
  const meta = /** @type {HTMLElement} */ (panel.querySelector("#lb-meta"));
  const memberMeta = /** @type {HTMLElement} */ (panel.querySelector("#lb-member-meta"));
  const errors = errorSlotOf(form);
  const memberErrors = errorSlotOf(memberForm);

  /** The board and period the forms name, or null when no board is given yet. */
  const selection = () => {
    const { board = "", period = "all-time", limit = "10" } = fieldsOf(form);
    return board ? { board, period, limit: Math.min(100, Math.max(1, Number(limit) || 10)) } : null;
  };

  async function loadTop() {
    const sel = selection();
    if (!sel) return;
    try {
      /** @type {{ data: Page }} */
      const { data } = await requestJson(`/v1/leaderboards/${segment(sel.board)}?limit=${sel.limit}&period=${sel.period}`);
      clearError(errors);
      fillRows(table, data.entries);
      meta.textContent =
        data.total === 0
          ? `${data.board} (${periodLabel(data)}) has no members yet.`
          : `${data.board} · ${periodLabel(data)} · ${formatNumber(data.total)} members · updated ${formatTime(Date.now())}`;
    } catch (error) {
      showError(errors, error);
    }
  }

  async function loadMember() {
    const sel = selection();
    const member = fieldsOf(memberForm).member;
    if (!sel || !member) {
      if (!sel) showError(memberErrors, new Error("Choose a board above first."));
      return;
    }
    try {
      /** @type {{ data: Standing }} */
      const { data } = await requestJson(`/v1/leaderboards/${segment(sel.board)}/members/${segment(member)}?around=2&period=${sel.period}`);
      clearError(memberErrors);
      fillRows(around, data.around, data.member);
      memberMeta.textContent = `${data.member} is #${data.rank} of ${formatNumber(data.total)} with ${formatNumber(data.score)} (${periodLabel(data)}).`;
    } catch (error) {
      around.hidden = true;
      memberMeta.textContent = "";
      showError(memberErrors, error);
    }
  }

  memberForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void loadMember();
  });

  return liveForm(form, loadTop, 3000, { ready: () => Boolean(selection()) });
}

/**
 * "weekly 2026-W17"; just "all-time" for the period whose version is its name.
 * @param {{ period: string, version: string }} page
 */
const periodLabel = ({ period, version }) => (version === period ? period : `${period} ${version}`);

/**
 * Fills a rank/member/score table; the row of `current` (if any) is marked.
 * @param {HTMLTableElement} table
 * @param {Entry[]} entries
 * @param {string} [current]
 */
function fillRows(table, entries, current) {
  const rows = entries.map((e) => {
    const who = e.name ? el("span", {}, e.name, " ", el("span", { class: "muted" }, `(${e.member})`)) : e.member;
    const isCurrent = e.member === current;
    return el("tr", { class: isCurrent ? "current" : undefined, "aria-current": isCurrent ? "true" : undefined },
      el("td", { class: "num" }, e.rank),
      el("td", { class: "member" }, who),
      el("td", { class: "num" }, formatNumber(e.score)),
    );
  });
  /** @type {HTMLTableSectionElement} */ (table.tBodies[0]).replaceChildren(...rows);
  table.hidden = entries.length === 0;
}
