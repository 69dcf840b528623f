/**
 * Cache statistics view: hits, stale hits and misses per minute as stacked bars, fills as a
 * line (GET /v1/cache/stats?minutes=N → { minutes: [{ start, hits, staleHits, misses, fills }],
 * totals }, oldest first), with the window's totals and hit ratio.
 */
import { requestJson } from "../api.js";
import { renderChart, renderDataTable } from "../chart.js";
import { clearError, el, errorSlotOf, fieldsOf, formatNumber, formatTime, liveForm, showError } from "../dom.js";

/**
 * @typedef {{ hits: number, staleHits: number, misses: number, fills: number }} Counts
 * @typedef {{ minutes: (Counts & { start: number })[], totals: Counts }} Stats
 */

/** The series, in stacking order, with their legend names and CSS classes. */
const BARS = /** @type {const} */ ([
  ["hits", "hits", "series-hits"],
  ["staleHits", "stale hits", "series-stale"],
  ["misses", "misses", "series-misses"],
]);

/** @param {HTMLElement} panel */
export function createStatsView(panel) {
  const form = /** @type {HTMLFormElement} */ (panel.querySelector("#stats-form"));
  const figure = /** @type {HTMLElement} */ (panel.querySelector("#stats-figure"));
  const caption = /** @type {HTMLElement} */ (panel.querySelector("#stats-caption"));
  const legend = /** @type {HTMLElement} */ (panel.querySelector("#stats-legend"));
  const chart = /** @type {HTMLElement} */ (panel.querySelector("#stats-chart"));
  const dataTable = /** @type {HTMLElement} */ (panel.querySelector("#stats-data"));
  const errors = errorSlotOf(form);
  let loadedOnce = false;

  async function load() {
    const minutes = Number(fieldsOf(form).minutes) || 60;
    try {
      /** @type {{ data: Stats }} */
      const { data } = await requestJson(`/v1/cache/stats?minutes=${minutes}`);
      clearError(errors);
      loadedOnce = true;
      const t = data.totals;
      const reads = t.hits + t.staleHits + t.misses;
      const ratio = reads > 0 ? `${Math.round(((t.hits + t.staleHits) / reads) * 1000) / 10}%` : "—";
      const chartData = {
        starts: data.minutes.map((m) => m.start),
        stepMs: 60_000,
        bars: BARS.map(([field, name, className]) => ({ name, className, values: data.minutes.map((m) => m[field]) })),
        line: { name: "fills", className: "series-fills", values: data.minutes.map((m) => m.fills) },
        label: `Cache reads per minute over the last ${minutes} minutes: ${formatNumber(t.hits)} hits, ` +
          `${formatNumber(t.staleHits)} stale hits, ${formatNumber(t.misses)} misses, ${formatNumber(t.fills)} fills`,
      };
      figure.hidden = false;
      caption.textContent = `Last ${minutes} minutes · ${formatNumber(reads)} reads · hit ratio ${ratio} · updated ${formatTime(Date.now())}`;
      legend.replaceChildren(
        ...BARS.map(([field, name, className]) => el("li", {}, el("span", { class: `swatch ${className}`, "aria-hidden": "true" }), `${name} ${formatNumber(t[field])}`)),
        el("li", {}, el("span", { class: "swatch line series-fills", "aria-hidden": "true" }), `fills ${formatNumber(t.fills)}`),
      );
      renderChart(chart, chartData);
      renderDataTable(dataTable, chartData);
    } catch (error) {
      showError(errors, error);
    }
  }

  // The first time the view appears it loads by itself: statistics need no input.
  return liveForm(form, load, 10_000, { onShow: () => loadedOnce || void load() });
}
