/**
 * Server-Sent Events read with fetch(), because EventSource cannot send an Authorization
 * header. `SseParser` is the text/event-stream format (WHATWG HTML, "Parsing an event stream");
 * `openEventStream` reads a stream and reconnects with backoff, resuming with Last-Event-ID.
 */

/**
 * @typedef {{ type: string, data: string, id: string }} SseEvent
 * @typedef {{
 *   onEvent: (event: SseEvent) => void,
 *   onComment?: (text: string) => void,
 *   onRetry?: (ms: number) => void,
 * }} SseHandlers
 */

/** Incremental parser: feed it decoded text in chunks of any size. */
export class SseParser {
  #buffer = "";
  /** @type {string[]} */
  #data = [];
  #type = "";
  #idBuffer = "";
  /** The id of the last dispatched event ("" if none): sent as Last-Event-ID on reconnect. */
  lastEventId = "";

  /** @param {SseHandlers} handlers */
  constructor(handlers) {
    this.handlers = handlers;
  }

  /** @param {string} text */
  push(text) {
    this.#buffer += text;
    // Lines end in CRLF, LF or CR. A CR at the very end waits: the next chunk may start with LF.
    const breaks = /\r\n|\r(?!$)|\n/g;
    let start = 0;
    for (let match; (match = breaks.exec(this.#buffer)); start = breaks.lastIndex) {
      this.#line(this.#buffer.slice(start, match.index));
    }
    this.#buffer = this.#buffer.slice(start);
  }

  /** @param {string} line */
  #line(line) {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) return this.handlers.onComment?.(line.slice(1).replace(/^ /, ""));
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#type = value;
    else if (field === "id" && !value.includes("\0")) this.#idBuffer = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.handlers.onRetry?.(Number(value));
    // Any other field is ignored, as the format requires.
  }

  #dispatch() {
    this.lastEventId = this.#idBuffer;
    const data = this.#data;
    const type = this.#type || "message";
    this.#data = [];
    this.#type = "";
    if (data.length === 0) return; // an event without data is not dispatched
    this.handlers.onEvent({ type, data: data.join("\n"), id: this.lastEventId });
  }
}

/**
 * @typedef {{ state: "connecting" } | { state: "open" } | { state: "waiting", error: unknown, retryInMs: number } | { state: "stopped", error?: unknown }} StreamStatus
 * @typedef {{
 *   connect: (signal: AbortSignal, lastEventId: string) => Promise<Response>,
 *   onEvent: (event: SseEvent) => void,
 *   onComment?: (text: string) => void,
 *   onStatus?: (status: StreamStatus) => void,
 *   isFatal?: (error: unknown) => boolean,
 *   minDelayMs?: number,
 *   maxDelayMs?: number,
 *   idleTimeoutMs?: number,
 * }} StreamOptions
 */

/**
 * Keeps an event stream open until `close()`: `connect` makes the request (and throws on a
 * non-2xx answer); when the stream fails, ends, or stays silent for `idleTimeoutMs` (the server
 * sends a heartbeat at least every 30 s), it reconnects after an exponential, jittered delay
 * (`minDelayMs` doubled per failure up to `maxDelayMs`; a server `retry:` raises the base).
 * An error for which `isFatal` is true stops it (e.g. a 401: a new token is needed first).
 * @param {StreamOptions} options
 * @returns {{ close: () => void }}
 */
export function openEventStream(options) {
  const { minDelayMs = 1000, maxDelayMs = 30_000, idleTimeoutMs = 45_000 } = options;
  const status = options.onStatus ?? (() => {});
  const closed = new AbortController();
  let baseDelayMs = minDelayMs;
  let failures = 0;
  let lastEventId = "";

  const run = async () => {
    while (!closed.signal.aborted) {
      const attempt = new AbortController();
      const abortAttempt = () => attempt.abort();
      closed.signal.addEventListener("abort", abortAttempt);
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let idle;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => attempt.abort(new Error(`no data or heartbeat for ${idleTimeoutMs / 1000} s`)), idleTimeoutMs);
      };
      try {
        status({ state: "connecting" });
        arm();
        const response = await options.connect(attempt.signal, lastEventId);
        const type = response.headers.get("Content-Type") ?? "";
        if (!type.startsWith("text/event-stream")) throw new Error(`expected text/event-stream, got "${type || "no type"}"`);
        if (!response.body) throw new Error("the response has no body");
        status({ state: "open" });
        const parser = new SseParser({
          onEvent: (event) => {
            lastEventId = parser.lastEventId;
            options.onEvent(event);
          },
          onComment: options.onComment,
          onRetry: (ms) => (baseDelayMs = Math.max(minDelayMs, Math.min(ms, maxDelayMs))),
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          failures = 0; // data arrived: the connection works, so the next failure starts the backoff anew
          arm();
          parser.push(value);
        }
        throw new Error("the server closed the stream");
      } catch (error) {
        if (closed.signal.aborted) break;
        const reason = attempt.signal.aborted && attempt.signal.reason ? attempt.signal.reason : error;
        if (options.isFatal?.(reason)) {
          status({ state: "stopped", error: reason });
          return;
        }
        failures += 1;
        const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (failures - 1));
        const retryInMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
        status({ state: "waiting", error: reason, retryInMs });
        await sleep(retryInMs, closed.signal);
      } finally {
        clearTimeout(idle);
        closed.signal.removeEventListener("abort", abortAttempt);
        attempt.abort();
      }
    }
    status({ state: "stopped" });
  };
  void run();
  return { close: () => closed.abort() };
}

/**
 * @param {number} ms
 * @param {AbortSignal} signal resolves early when aborted
 */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(undefined);
    }, { once: true });
  });
}
