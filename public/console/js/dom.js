/** Small DOM and formatting helpers shared by the views. Text always goes in as text, never HTML. */

/**
 * Creates an element with attributes (`class`, `aria-*`, ...) and children (nodes or text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | undefined>} [attributes] false/undefined: omitted
 * @param {...(Node | string | number | null | undefined)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "object" ? child : String(child));
  }
  return node;
}

/**
 * The error paragraph that follows a form (each form in index.html has one).
 * @param {HTMLFormElement} form
 * @returns {HTMLElement}
 */
export function errorSlotOf(form) {
  const slot = form.nextElementSibling;
  if (!(slot instanceof HTMLElement) || !slot.classList.contains("error")) throw new Error(`#${form.id} has no error slot`);
  return slot;
}

/**
 * Shows an error (an ApiError's title and detail, or any error's message) in `slot`.
 * @param {HTMLElement} slot
 * @param {unknown} error
 */
export function showError(slot, error) {
  const e = /** @type {{ title?: string, detail?: string, message?: string, status?: number }} */ (error ?? {});
  slot.replaceChildren();
  if (e.title) {
    slot.append(el("strong", {}, e.status ? `${e.title} (${e.status})` : e.title));
    if (e.detail) slot.append(": ", e.detail);
  } else {
    slot.append(e.message ?? String(error));
  }
  slot.hidden = false;
}

/** @param {HTMLElement} slot */
export function clearError(slot) {
  slot.hidden = true;
  slot.replaceChildren();
}

/**
 * The named fields of a form as trimmed strings (checkboxes: "on" when checked, else absent).
 * @param {HTMLFormElement} form
 * @returns {Record<string, string>}
 */
export function fieldsOf(form) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, value] of new FormData(form)) out[name] = String(value).trim();
  return out;
}

/**
 * "a, b,,c " → ["a", "b", "c"]
 * @param {string} text
 */
export const parseList = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const minuteFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

/** @param {number | Date} at */
export const formatTime = (at) => timeFormat.format(at);
/** @param {number | Date} at */
export const formatMinute = (at) => minuteFormat.format(at);
/** @param {number} n */
export const formatNumber = (n) => numberFormat.format(n);

/**
 * A duration for people: "850 ms", "8.2 s", "3 min 12 s", "2 h 5 min".
 * @param {number} ms
 */
export function formatDuration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Runs `task` now and then every `intervalMs` after it settles (never two at once) until
 * stopped. Used for the views' "Live" toggles.
 * @param {() => Promise<unknown>} task
 * @param {number} intervalMs
 */
export function poller(task, intervalMs) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let running = false;
  const tick = async () => {
    if (!running) return;
    await task().catch(() => {}); // the task shows its own errors
    if (running) timer = setTimeout(tick, intervalMs);
  };
  return {
    start() {
      if (running) return;
      running = true;
      void tick();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
    get running() {
      return running;
    },
  };
}

/**
 * Wires a view's form: submitting loads once; its "live" checkbox repeats the load every
 * `intervalMs` while the view is shown and `ready()` says the form names something to load.
 * @param {HTMLFormElement} form
 * @param {() => Promise<void>} load
 * @param {number} intervalMs
 * @param {{ ready?: () => boolean, onShow?: () => void }} [options]
 * @returns {{ show(): void, hide(): void }} what the tabs call when the view appears and goes
 */
export function liveForm(form, load, intervalMs, { ready = () => true, onShow } = {}) {
  const liveBox = /** @type {HTMLInputElement} */ (form.elements.namedItem("live"));
  const live = poller(load, intervalMs);
  let shown = false;
  const sync = () => (shown && liveBox.checked && ready() ? live.start() : live.stop());

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    live.stop();
    void load().then(sync);
  });
  liveBox.addEventListener("change", sync);

  return {
    show() {
      shown = true;
      onShow?.();
      sync();
    },
    hide() {
      shown = false;
      live.stop();
    },
  };
}
