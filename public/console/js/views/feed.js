/**
 * Live invalidation feed: GET /v1/events (Server-Sent Events, optionally ?tags=a,b) read with
 * fetch() so the bearer header can be sent, reconnecting with backoff and Last-Event-ID. The
 * newest invalidations come first; the list keeps the last 100. It runs from the moment a
 * token is known, whichever view is shown, so nothing is missed while looking elsewhere.
 */
import { ApiError, request } from "../api.js";
import { el, fieldsOf, formatDuration, formatTime, parseList } from "../dom.js";
import { openEventStream } from "../sse.js";

const KEEP = 100;

/**
 * @typedef {{ tags?: string[], keys?: string[], mode?: string, at?: string }} Invalidation
 */

/** @param {HTMLElement} panel */
export function createFeedView(panel) {
  const form = /** @type {HTMLFormElement} */ (panel.querySelector("#feed-form"));
  const list = /** @type {HTMLOListElement} */ (panel.querySelector("#feed-list"));
  const statusLine = /** @type {HTMLElement} */ (panel.querySelector("#feed-status"));
  const empty = /** @type {HTMLElement} */ (panel.querySelector("#feed-empty"));
  const clearButton = /** @type {HTMLButtonElement} */ (panel.querySelector("#feed-clear"));
  /** @type {{ close: () => void } | null} */
  let stream = null;
  let connectedAt = 0;

  /** @param {string} text @param {"ok" | "warn" | "bad" | "neutral"} tone */
  const setStatus = (text, tone) => {
    statusLine.dataset.tone = tone;
    statusLine.textContent = text;
  };

  function start() {
    stop();
    const tags = parseList(fieldsOf(form).tags ?? "");
    const query = tags.length ? `?tags=${tags.map(encodeURIComponent).join(",")}` : "";
    const connected = () => `Connected since ${formatTime(connectedAt)} · ${tags.length ? `tags ${tags.join(", ")}` : "all tags"}`;
    stream = openEventStream({
      connect: (signal, lastEventId) =>
        request(`/v1/events${query}`, { signal, headers: { Accept: "text/event-stream", ...(lastEventId ? { "Last-Event-ID": lastEventId } : {}) } }),
      onEvent: (event) => add(event.type, event.id, event.data),
      onComment: () => setStatus(`${connected()} · last heartbeat ${formatTime(Date.now())}`, "ok"),
      isFatal: (error) => error instanceof ApiError && error.status === 401,
      onStatus: (s) => {
        if (s.state === "connecting") setStatus("Connecting…", "neutral");
        else if (s.state === "open") {
          connectedAt = Date.now();
          setStatus(connected(), "ok");
        } else if (s.state === "waiting") setStatus(`Disconnected (${describe(s.error)}); retrying in ${formatDuration(s.retryInMs)}`, "bad");
        else if (s.error) setStatus(`Stopped (${describe(s.error)})`, "bad");
      },
    });
  }

  function stop() {
    stream?.close();
    stream = null;
    setStatus("Not connected", "neutral");
  }

  /** @param {string} type @param {string} id @param {string} data */
  function add(type, id, data) {
    /** @type {Invalidation | null} */
    let event = null;
    try {
      event = JSON.parse(data);
    } catch {
      // shown raw below
    }
    const when = event?.at ? Date.parse(event.at) : Date.now();
    const item = event && type === "invalidation"
      ? el("li", { "data-id": id },
          el("time", { datetime: event.at ?? "" }, formatTime(when)), " ",
          el("span", { class: `badge ${event.mode === "soft" ? "warn" : "bad"}` }, event.mode ?? "?"), " ",
          ...(event.tags?.length ? [el("span", { class: "label" }, "tags"), el("ul", { class: "chips" }, ...event.tags.map((t) => el("li", {}, t)))] : []),
          ...(event.keys?.length ? [el("span", { class: "label" }, "keys"), el("ul", { class: "chips" }, ...event.keys.map((k) => el("li", {}, k)))] : []),
        )
      : el("li", { "data-id": id }, el("time", {}, formatTime(when)), " ", el("span", { class: "badge neutral" }, type), " ", el("code", {}, data));
    list.prepend(item);
    while (list.children.length > KEEP) list.lastElementChild?.remove();
    empty.hidden = true;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start();
  });
  clearButton.addEventListener("click", () => {
    list.replaceChildren();
    empty.hidden = false;
  });

  return { start, stop, show() {}, hide() {} };
}

/** @param {unknown} error */
function describe(error) {
  if (error instanceof ApiError) return error.detail ? `${error.status} ${error.title}: ${error.detail}` : `${error.status} ${error.title}`;
  return error instanceof Error ? error.message : String(error);
}
