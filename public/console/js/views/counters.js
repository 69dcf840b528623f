/**
 * Counters view: a windowed counter per minute over the last hour as a bar chart
 * (GET /v1/counters/{name}?granularity=minute&buckets=60) and a rate-limit policy's state for
 * an identifier, peeked without spending (GET /v1/rate/{policy}/{id}).
 */
import { requestJson, segment } from "../api.js";
import { renderChart, renderDataTable } from "../chart.js";
import { clearError, el, errorSlotOf, fieldsOf, formatDuration, formatNumber, formatTime, liveForm, showError } from "../dom.js";

/**
 * @typedef {{ granularity: string, buckets: { start: number, count: number }[], total: number }} Series
 * @typedef {{ allowed: boolean, limit: number, remaining: number, resetMs: number, retryAfterMs: number, reason?: string }} RateState
 */

/** @param {HTMLElement} panel */
export function createCountersView(panel) {
  const form = /** @type {HTMLFormElement} */ (panel.querySelector("#counter-form"));
  const rateForm = /** @type {HTMLFormElement} */ (panel.querySelector("#rate-form"));
  const figure = /** @type {HTMLElement} */ (panel.querySelector("#counter-figure"));
  const caption = /** @type {HTMLElement} */ (panel.querySelector("#counter-caption"));
  const chart = /** @type {HTMLElement} */ (panel.querySelector("#counter-chart"));
  const dataTable = /** @type {HTMLElement} */ (panel.querySelector("#counter-data"));
  const rateState = /** @type {HTMLElement} */ (panel.querySelector("#rate-state"));
  const errors = errorSlotOf(form);
  const rateErrors = errorSlotOf(rateForm);

  async function loadSeries() {
    const { name } = fieldsOf(form);
    if (!name) return;
    try {
      /** @type {{ data: Series }} */
      const { data } = await requestJson(`/v1/counters/${segment(name)}?granularity=minute&buckets=60`);
      clearError(errors);
      const peak = data.buckets.reduce((best, b) => (b.count > best.count ? b : best), { start: 0, count: 0 });
      const label = `${name}: hits per minute over the last hour, total ${formatNumber(data.total)}` +
        (peak.count > 0 ? `, busiest minute ${formatTime(peak.start)} with ${formatNumber(peak.count)}` : "");
      const chartData = {
        starts: data.buckets.map((b) => b.start),
        stepMs: 60_000,
        bars: [{ name: "count", className: "series-count", values: data.buckets.map((b) => b.count) }],
        label,
      };
      figure.hidden = false;
      caption.replaceChildren(el("strong", {}, name), ` · last hour, per minute · total ${formatNumber(data.total)} · updated ${formatTime(Date.now())}`);
      renderChart(chart, chartData);
      renderDataTable(dataTable, chartData);
    } catch (error) {
      showError(errors, error);
    }
  }

  async function peek() {
    const { policy, id } = fieldsOf(rateForm);
    if (!policy || !id) return;
    try {
      /** @type {{ data: RateState }} */
      const { data } = await requestJson(`/v1/rate/${segment(policy)}/${segment(id)}`);
      clearError(rateErrors);
      rateState.replaceChildren(
        el("p", {}, el("span", { class: `badge ${data.allowed ? "ok" : "bad"}` }, data.allowed ? "Allowed" : "Limited"), " ", `${policy} for ${id}`),
        el("label", { class: "meter-label" }, `Remaining ${formatNumber(data.remaining)} of ${formatNumber(data.limit)}`,
          el("meter", { min: 0, max: data.limit, low: data.limit * 0.2, high: data.limit * 0.5, optimum: data.limit, value: data.remaining })),
        el("dl", { class: "facts" },
          el("dt", {}, "Full again in"), el("dd", {}, formatDuration(data.resetMs)),
          el("dt", {}, "Next unit allowed in"), el("dd", {}, data.retryAfterMs > 0 ? formatDuration(data.retryAfterMs) : "now"),
          ...(data.reason ? [el("dt", {}, "Note"), el("dd", {}, data.reason)] : []),
        ),
      );
    } catch (error) {
      rateState.replaceChildren();
      showError(rateErrors, error);
    }
  }

  rateForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void peek();
  });

  return liveForm(form, loadSeries, 10_000, { ready: () => Boolean(fieldsOf(form).name) });
}
