/**
 * Cache view: one entry by key (GET /v1/cache/{key}: a preview of the value, its tags, age,
 * freshness and the X-Cache header) and invalidation by tag (POST /v1/cache/invalidate).
 */
import { ApiError, request, requestJson, segment } from "../api.js";
import { clearError, el, errorSlotOf, fieldsOf, formatNumber, formatTime, parseList, showError } from "../dom.js";

/** Longest value preview, in characters; the rest is cut with a note. */
const PREVIEW_CHARS = 4000;

/**
 * @typedef {{ key: string, value: unknown, contentType?: string, encoding?: "utf8" | "base64",
 *   tags: string[], ageSeconds: number, ttlSeconds: number, stale: boolean }} Entry
 */

/** @param {HTMLElement} panel */
export function createCacheView(panel) {
  const form = /** @type {HTMLFormElement} */ (panel.querySelector("#cache-form"));
  const invalidateForm = /** @type {HTMLFormElement} */ (panel.querySelector("#invalidate-form"));
  const entryBox = /** @type {HTMLElement} */ (panel.querySelector("#cache-entry"));
  const result = /** @type {HTMLElement} */ (panel.querySelector("#invalidate-result"));
  const errors = errorSlotOf(form);
  const invalidateErrors = errorSlotOf(invalidateForm);

  async function lookUp() {
    const { key } = fieldsOf(form);
    if (!key) return;
    try {
      /** @type {{ data: Entry, response: Response }} */
      const { data, response } = await requestJson(`/v1/cache/${segment(key)}`);
      clearError(errors);
      renderEntry(data, response.headers.get("X-Cache") ?? "—");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && /** @type {{ type?: string }} */ (error.body)?.type === "urn:problem:cache-miss") {
        clearError(errors);
        entryBox.replaceChildren(
          el("p", {}, el("span", { class: "badge neutral" }, "MISS"), " ", key),
          el("p", { class: "meta" }, `${error.detail} (absent, expired or hard-invalidated) · checked at ${formatTime(Date.now())}`),
        );
        return;
      }
      entryBox.replaceChildren();
      showError(errors, error);
    }
  }

  /** @param {Entry} entry @param {string} xCache */
  function renderEntry(entry, xCache) {
    const text = entry.encoding === "base64" ? `(${formatNumber(Math.floor((String(entry.value).length * 3) / 4))} bytes, base64)\n${entry.value}`
      : typeof entry.value === "string" ? entry.value
      : JSON.stringify(entry.value, null, 2);
    const cut = text.length > PREVIEW_CHARS;
    entryBox.replaceChildren(
      el("p", {}, el("span", { class: `badge ${xCache === "HIT" ? "ok" : "warn"}`, title: "X-Cache header" }, `X-Cache: ${xCache}`), " ", entry.key),
      el("dl", { class: "facts" },
        el("dt", {}, "Age"), el("dd", {}, `${formatNumber(entry.ageSeconds)} s`),
        el("dt", {}, "Fresh for"), el("dd", {}, entry.stale ? "stale" : `${formatNumber(entry.ttlSeconds)} s`),
        el("dt", {}, "Type"), el("dd", {}, entry.contentType ?? "JSON"),
        el("dt", {}, "Tags"), el("dd", {}, entry.tags.length ? el("ul", { class: "chips" }, ...entry.tags.map((t) => el("li", {}, t))) : "none"),
      ),
      el("pre", { class: "preview", tabindex: 0, "aria-label": "Value preview" }, cut ? text.slice(0, PREVIEW_CHARS) : text),
    );
    if (cut) entryBox.append(el("p", { class: "meta" }, `Preview cut at ${formatNumber(PREVIEW_CHARS)} of ${formatNumber(text.length)} characters.`));
  }

  async function invalidate() {
    const { tags, mode } = fieldsOf(invalidateForm);
    const list = parseList(tags ?? "");
    if (list.length === 0) return showError(invalidateErrors, new Error("Give at least one tag."));
    try {
      const response = await request("/v1/cache/invalidate", { method: "POST", body: { tags: list, mode } });
      /** @type {{ tags: string[], mode: string, at: string }} */
      const data = await response.json();
      clearError(invalidateErrors);
      result.textContent = `Invalidated ${data.tags.join(", ")} (${data.mode}) at ${formatTime(Date.parse(data.at))}.`;
    } catch (error) {
      result.textContent = "";
      showError(invalidateErrors, error);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void lookUp();
  });
  invalidateForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void invalidate();
  });

  return { show() {}, hide() {} };
}
