/**
 * WAI-ARIA tabs (automatic activation): one tab in the Tab order at a time; Left/Right arrows,
 * Home and End move between tabs and show the panel. The selected view is kept in the URL
 * fragment (#counters) so a reload stays on it; nothing else goes in the URL.
 */

/**
 * @param {HTMLElement} tablist
 * @param {(id: string) => void} onChange called with the view id ("leaderboards", ...) once at start and on every change
 */
export function initTabs(tablist, onChange) {
  const tabs = /** @type {HTMLButtonElement[]} */ ([...tablist.querySelectorAll('[role="tab"]')]);
  const idOf = (/** @type {HTMLElement} */ tab) => tab.id.replace(/^tab-/, "");

  /** @param {HTMLButtonElement} selected @param {boolean} focus */
  function select(selected, focus) {
    for (const tab of tabs) {
      const on = tab === selected;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      const panel = document.getElementById(tab.getAttribute("aria-controls") ?? "");
      if (panel) panel.hidden = !on;
    }
    if (focus) selected.focus();
    history.replaceState(null, "", `#${idOf(selected)}`);
    onChange(idOf(selected));
  }

  tablist.addEventListener("click", (event) => {
    const tab = /** @type {HTMLElement} */ (event.target).closest('[role="tab"]');
    if (tab instanceof HTMLButtonElement) select(tab, false);
  });
  tablist.addEventListener("keydown", (event) => {
    const current = tabs.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    if (current < 0) return;
    const next = {
      ArrowRight: (current + 1) % tabs.length,
      ArrowLeft: (current - 1 + tabs.length) % tabs.length,
      Home: 0,
      End: tabs.length - 1,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    select(/** @type {HTMLButtonElement} */ (tabs[next]), true);
  });

  const fromHash = tabs.find((tab) => idOf(tab) === location.hash.slice(1));
  select(fromHash ?? /** @type {HTMLButtonElement} */ (tabs[0]), false);
}
