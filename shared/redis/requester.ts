import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import { RedisAuthError, RedisUnavailableError } from "../errors";

/** Options of {@link RestRequester}. */
export interface RestOptions {
  /** The REST URL, e.g. `https://xyz.upstash.io` or the local endpoint's. */
  url: string;
  /** The REST token. */
  token: string;
  /** Timeout of one request in ms, body included (default 1500). Streams have none. */
  timeoutMs?: number;
  /**
   * Resends after `fetch` itself failed (default 1). A request that timed out or was aborted is
   * never resent: it may have been applied, and the caller's deadline has passed.
   */
  retries?: number;
  /** Wait before resend `n` (0-based), in ms. Default `50 * 2^n`. */
  backoffMs?: (attempt: number) => number;
}

/**
 * The HTTP side of `@upstash/redis`, speaking Upstash's REST protocol (`POST /`, `/pipeline`,
 * `/multi-exec`, `/subscribe/...`; base64 replies; the sync token), and the one place where a
 * failure is classified, by what happened rather than by its text:
 *
 * - `fetch` threw (after the retries), or the body could not be read: RedisUnavailableError
 *   "network"; the timeout or the caller's signal fired: "timeout";
 * - the endpoint answered 5xx or 429: "status"; it answered something that is not JSON:
 *   "protocol"; 401/403: {@link RedisAuthError};
 * - a Redis error reply (HTTP 400 `{error}`, or an `{error}` entry of a pipeline) is returned as
 *   `{error}`, so `@upstash/redis` raises its UpstashError with Redis's own text, never with
 *   the command (and user data) appended.
 */
export class RestRequester implements Requester {
  readYourWrites = true;
  upstashSyncToken = "";
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: (attempt: number) => number;

  constructor(options: RestOptions) {
    this.#base = options.url.replace(/\/+$/, "");
    this.#headers = {
      Authorization: `Bearer ${options.token}`,
      "Content-Type": "application/json",
      "Upstash-Encoding": "base64",
    };
    this.#timeoutMs = options.timeoutMs ?? 1500;
    this.#retries = options.retries ?? 1;
    this.#backoffMs = options.backoffMs ?? ((attempt) => 50 * 2 ** attempt);
  }

  async request<TResult = unknown>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
    const headers: Record<string, string> = { ...this.#headers, ...req.headers };
    if (this.readYourWrites) headers["upstash-sync-token"] = this.upstashSyncToken;
    const streaming = Boolean(req.isStreaming || headers.Accept === "text/event-stream");
    const url = [this.#base, ...(req.path ?? [])].join("/");
    const body = JSON.stringify(req.body);

    const { res, settled } = await this.#send(url, headers, body, streaming, req.signal);
    try {
      return await this.#answer<TResult>(req, res, streaming);
    } finally {
      settled();
    }
  }

  async #answer<TResult>(req: UpstashRequest, res: Response, streaming: boolean): Promise<UpstashResponse<TResult>> {
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new RedisAuthError(res.status);
    }
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel();
      throw new RedisUnavailableError(`the Redis REST endpoint answered ${res.status}`, "status", { status: res.status });
    }
    const token = res.headers.get("upstash-sync-token");
    if (this.readYourWrites && token !== null) this.upstashSyncToken = token;
    if (streaming && res.ok && res.body && req.onMessage) {
      void readEvents(res.body, req.onMessage, req.path ?? [], req.signal);
      return { result: 1 as TResult };
    }
    const parsed = await this.#json(res);
    if (Array.isArray(parsed)) {
      return parsed.map((entry: UpstashResponse<unknown>) => ({ result: decode(entry.result), error: entry.error })) as UpstashResponse<TResult>;
    }
    const reply = parsed as UpstashResponse<unknown>;
    if (!res.ok && typeof reply.error !== "string") {
      throw new RedisUnavailableError(`the Redis REST endpoint answered ${res.status} without an error`, "protocol", { status: res.status });
    }
    return { result: decode(reply.result) as TResult, error: reply.error };
  }

  /**
   * Sends the request, resending after a network failure. The timeout covers the body too, so
   * its timer lives until the caller calls `settled()` (a timer per request that could not be
   * cleared would pile up: workerd caps the timers of an isolate).
   */
  async #send(
    url: string,
    headers: Record<string, string>,
    body: string,
    streaming: boolean,
    callerSignal?: AbortSignal,
  ): Promise<{ res: Response; settled: () => void }> {
    for (let attempt = 0; ; attempt++) {
      const timeout = new AbortController();
      const timer = streaming ? undefined : setTimeout(() => timeout.abort(new DOMException("timed out", "TimeoutError")), this.#timeoutMs);
      const settled = () => {
        if (timer !== undefined) clearTimeout(timer);
      };
      const signals = streaming ? [] : [timeout.signal];
      if (callerSignal) signals.push(callerSignal);
      const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
      try {
        return { res: await fetch(url, { method: "POST", headers, body, ...(signal ? { signal } : {}) }), settled };
      } catch (error) {
        settled();
        if (signal?.aborted) {
          throw new RedisUnavailableError(`Redis did not answer within ${this.#timeoutMs} ms`, "timeout", { cause: error });
        }
        if (attempt >= this.#retries) throw new RedisUnavailableError("the Redis REST endpoint could not be reached", "network", { cause: error });
        await new Promise((resolve) => setTimeout(resolve, this.#backoffMs(attempt)));
      }
    }
  }

  async #json(res: Response): Promise<unknown> {
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      throw new RedisUnavailableError("the Redis REST endpoint's reply was cut off", timedOut ? "timeout" : "network", { cause: error });
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new RedisUnavailableError(`the Redis REST endpoint answered ${res.status} with a body that is not JSON`, "protocol", { cause: error, status: res.status });
    }
  }
}

/**
 * A reply as the client expects it without `Upstash-Encoding`: every string base64-decoded
 * (UTF-8), at any depth, except the status "OK" (a base64 text always has a length that is a
 * multiple of 4, so "OK" is never one). Numbers and nulls stay as they are.
 */
export function decode(value: unknown): unknown {
  if (typeof value === "string") return value === "OK" ? value : fromBase64Utf8(value);
  if (Array.isArray(value)) return value.map(decode);
  return value;
}

function fromBase64Utf8(text: string): string {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new TextDecoder().decode(bytes);
  } catch {
    return text;
  }
}

/**
 * Reads a `text/event-stream` body and hands each `data:` line to `onMessage`, until it ends.
 * A stream that ends without the subscriber asking (the endpoint closed it, the network broke)
 * is reported the way Redis reports a subscription that ended: `unsubscribe,<channel>,0`, so
 * the subscriber learns it is no longer subscribed.
 */
async function readEvents(body: ReadableStream<Uint8Array>, onMessage: (data: string) => void, path: readonly string[], signal?: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("data: ")) onMessage(line.slice("data: ".length));
    }
  } catch {
    // The subscriber aborted, or the stream broke: either way it is over.
  } finally {
    reader.releaseLock();
  }
  if (!signal?.aborted) {
    const [kind = "subscribe", ...names] = path;
    onMessage(`${kind === "psubscribe" ? "punsubscribe" : "unsubscribe"},${names.map(decodeURIComponent).join(",")},0`);
  }
}
