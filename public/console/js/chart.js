/**
 * A per-interval bar chart drawn as SVG by hand (no library): stacked bars, an optional line,
 * a y axis with round steps and time labels that never crowd. It is drawn at the container's
 * width in pixels, so text keeps its size on a phone, and redrawn when that width changes.
 * Each bar carries a <title> (hover text); `renderDataTable` gives the same numbers as a table.
 */
import { el, formatMinute, formatNumber } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * @typedef {{ name: string, className: string, values: number[] }} Series
 * @typedef {{ starts: number[], stepMs: number, bars: Series[], line?: Series, label: string }} ChartData
 *   `starts`: each interval's start (ms since the epoch), oldest first; `label`: the chart's accessible name
 */

/** @type {WeakMap<Element, { data: ChartData, width: number }>} */
const drawn = new WeakMap();
const resizes = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    const state = drawn.get(target);
    if (state && target instanceof HTMLElement && widthOf(target) !== state.width) draw(target, state.data);
  }
});

/**
 * Draws `data` into `container` (replacing what was there) and keeps it drawn at its width.
 * @param {HTMLElement} container
 * @param {ChartData} data
 */
export function renderChart(container, data) {
  draw(container, data);
  resizes.observe(container);
}

/** @param {HTMLElement} container */
const widthOf = (container) => Math.max(240, Math.floor(container.clientWidth));

/**
 * @param {string} name
 * @param {Record<string, string | number>} attributes
 * @param {...(Node | string)} children
 */
function svg(name, attributes, ...children) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  node.append(...children);
  return node;
}

/**
 * A round axis: steps of 1, 2 or 5 × 10^k, about four of them up to at least `peak`.
 * @param {number} peak
 */
export function niceScale(peak) {
  const rough = Math.max(peak, 1) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((f) => f * power).find((s) => s >= rough) ?? 10 * power);
  return { step, max: Math.max(step, Math.ceil(peak / step) * step) };
}

/**
 * @param {HTMLElement} container
 * @param {ChartData} data
 */
function draw(container, data) {
  const width = widthOf(container);
  const height = width < 500 ? 180 : 220;
  const m = { top: 10, right: 10, bottom: 24, left: 40 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const n = Math.max(1, data.starts.length);
  const totals = data.starts.map((_, i) => data.bars.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const { step, max } = niceScale(Math.max(0, ...totals, ...(data.line?.values ?? [])));
  const y = (/** @type {number} */ v) => m.top + plotH - (v / max) * plotH;
  const slot = plotW / n;
  const barW = Math.max(1, slot > 4 ? slot - 1 : slot);

  const root = svg("svg", { class: "chart-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": data.label });

  for (let v = 0; v <= max; v += step) {
    root.append(
      svg("line", { class: "grid", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }),
      svg("text", { class: "axis", x: m.left - 6, y: y(v) + 4, "text-anchor": "end" }, formatNumber(v)),
    );
  }

  data.starts.forEach((start, i) => {
    const parts = data.bars.map((s) => `${s.name} ${formatNumber(s.values[i] ?? 0)}`);
    if (data.line) parts.push(`${data.line.name} ${formatNumber(data.line.values[i] ?? 0)}`);
    const group = svg("g", { class: "bar-group" }, svg("title", {}, `${formatMinute(start)}: ${parts.join(", ")}`));
    let base = 0;
    for (const s of data.bars) {
      const v = s.values[i] ?? 0;
      if (v <= 0) continue;
      group.append(svg("rect", { class: `bar ${s.className}`, x: m.left + i * slot, y: y(base + v), width: barW, height: y(base) - y(base + v) }));
      base += v;
    }
    // An invisible full-height target, so the hover text works over empty minutes too.
    group.append(svg("rect", { class: "hit-area", x: m.left + i * slot, y: m.top, width: slot, height: plotH }));
    root.append(group);
  });

  if (data.line) {
    const points = data.line.values.map((v, i) => `${m.left + (i + 0.5) * slot},${y(v)}`).join(" ");
    root.append(svg("polyline", { class: `line ${data.line.className}`, points }));
  }

  // Time labels on round times (every 5, 10, 15, 30... intervals), at least 56 px apart.
  const every = [1, 5, 10, 15, 30, 60, 120, 180, 360].find((k) => k * slot >= 56) ?? 720;
  const everyMs = every * data.stepMs;
  data.starts.forEach((start, i) => {
    // Local round times: shift by the zone offset (whole minutes) before the modulo.
    const local = start - new Date(start).getTimezoneOffset() * 60_000;
    if (local % everyMs !== 0) return;
    const x = m.left + (i + 0.5) * slot;
    if (x + 28 > width) return; // a label centred there would be cut at the right edge
    root.append(
      svg("line", { class: "tick", x1: x, x2: x, y1: m.top + plotH, y2: m.top + plotH + 4 }),
      svg("text", { class: "axis", x, y: height - 6, "text-anchor": "middle" }, formatMinute(start)),
    );
  });

  container.replaceChildren(root);
  drawn.set(container, { data, width });
}

/**
 * The chart's numbers as a table (one row per interval, newest first), for screen readers and
 * for reading exact values.
 * @param {HTMLElement} container
 * @param {ChartData} data
 */
export function renderDataTable(container, data) {
  const series = data.line ? [...data.bars, data.line] : data.bars;
  const head = el("tr", {}, el("th", { scope: "col" }, "Minute"), ...series.map((s) => el("th", { scope: "col", class: "num" }, s.name)));
  const rows = data.starts
    .map((start, i) => el("tr", {}, el("th", { scope: "row" }, formatMinute(start)), ...series.map((s) => el("td", { class: "num" }, formatNumber(s.values[i] ?? 0)))))
    .reverse();
  container.replaceChildren(el("table", { class: "data" }, el("caption", { class: "visually-hidden" }, data.label), el("thead", {}, head), el("tbody", {}, ...rows)));
}
