/**
 * Locks view: whether a named lock is held (GET /v1/locks/{name}), the number of holders, the
 * fence and a countdown to the end of the lease. The API never returns a lock's token, so
 * neither does this view. The status is fetched again every 5 s while shown and when the
 * countdown reaches zero. The countdown compares `expiresAt` (Redis clock) with this
 * browser's clock, so it is off by any difference between the two.
 */
import { requestJson, segment } from "../api.js";
import { clearError, el, errorSlotOf, fieldsOf, formatDuration, formatNumber, formatTime, poller, showError } from "../dom.js";

/** @typedef {{ locked: boolean, holders?: number, expiresAt?: number, fence?: number }} LockStatus */

/** @param {HTMLElement} panel */
export function createLocksView(panel) {
  const form = /** @type {HTMLFormElement} */ (panel.querySelector("#lock-form"));
  const state = /** @type {HTMLElement} */ (panel.querySelector("#lock-state"));
  const countdown = /** @type {HTMLElement} */ (panel.querySelector("#lock-countdown"));
  const errors = errorSlotOf(form);
  let shown = false;
  /** @type {number | undefined} */
  let expiresAt;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let ticker;

  async function load() {
    const { name } = fieldsOf(form);
    if (!name) return;
    try {
      /** @type {{ data: LockStatus }} */
      const { data } = await requestJson(`/v1/locks/${segment(name)}`);
      clearError(errors);
      render(name, data);
    } catch (error) {
      showError(errors, error);
    }
  }

  /** @param {string} name @param {LockStatus} status */
  function render(name, status) {
    const facts = [];
    if (status.locked) {
      if (status.holders !== undefined) facts.push(el("dt", {}, "Holders"), el("dd", {}, formatNumber(status.holders)));
      if (status.fence !== undefined) facts.push(el("dt", {}, "Fence"), el("dd", { class: "mono" }, String(status.fence)));
      if (status.expiresAt !== undefined) facts.push(el("dt", {}, "Lease ends at"), el("dd", {}, formatTime(status.expiresAt)));
    }
    state.replaceChildren(
      el("p", {}, el("span", { class: `badge ${status.locked ? "bad" : "ok"}` }, status.locked ? "Held" : "Free"), " ", name),
      ...(facts.length ? [el("dl", { class: "facts" }, ...facts)] : []),
      el("p", { class: "meta" }, `Checked at ${formatTime(Date.now())}`),
    );
    expiresAt = status.locked ? status.expiresAt : undefined;
    tick();
  }

  function tick() {
    if (expiresAt === undefined) {
      countdown.hidden = true;
      return;
    }
    const left = expiresAt - Date.now();
    countdown.hidden = false;
    countdown.textContent = left > 0 ? `Lease ends in ${formatDuration(left)}` : "Lease ended; checking again…";
    if (left <= 0) {
      expiresAt = undefined;
      void load();
    }
  }

  const refresh = poller(load, 5000);
  const sync = () => {
    clearInterval(ticker);
    refresh.stop();
    if (!shown || !fieldsOf(form).name) return;
    refresh.start();
    ticker = setInterval(tick, 250);
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sync();
  });

  return {
    show() {
      shown = true;
      sync();
    },
    hide() {
      shown = false;
      sync();
    },
  };
}
