/**
 * Sends one fuzzed request over real HTTP with node:http, which puts the path on the request
 * line exactly as given (fetch would normalise `..` and re-encode it). An event stream is
 * closed once its headers have arrived: its status and type are what is checked. Each request
 * has its own connection: one the Worker closed after an unread body is never reused.
 *
 * A large body waits for `100 Continue`, as curl does (`Expect: 100-continue`, sent anyway after
 * a second without an answer): a server that refuses it (413) answers before it is sent. Written
 * at once, the refused body would meet a reset connection, and whether the 413 was read first
 * would depend on timing (RFC 9112 §9.6 lets a server close without reading it).
 */
import { request } from "node:http";
import type { FuzzRequest } from "./operations";

/** An answer, with how long it took. */
export interface FuzzResponse {
  status: number;
  headers: Record<string, string | undefined>;
  text: string;
  elapsedMs: number;
}

/** Sends `req` to `base` (an http origin); rejects only on a transport failure or after `timeoutMs`. */
export function send(base: string, req: FuzzRequest, timeoutMs = 30_000): Promise<FuzzResponse> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers["content-length"] = String(Buffer.byteLength(req.body));
    const hasExpect = Object.keys(headers).some((name) => name.toLowerCase() === "expect");
    const waitsToContinue = req.body !== undefined && Buffer.byteLength(req.body) > EXPECT_CONTINUE_BYTES && !hasExpect;
    if (waitsToContinue) headers.expect = "100-continue";
    const outgoing = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.path, headers, timeout: timeoutMs, agent: false },
      (res) => {
        const single = (name: string) => {
          const value = res.headers[name];
          return Array.isArray(value) ? value.join(", ") : value;
        };
        const answer = (text: string) =>
          resolve({
            status: res.statusCode ?? 0,
            headers: { "content-type": single("content-type"), "retry-after": single("retry-after"), "x-cache": single("x-cache") },
            text,
            elapsedMs: performance.now() - started,
          });
        if ((single("content-type") ?? "").startsWith("text/event-stream")) {
          res.destroy();
          return answer("");
        }
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => answer(Buffer.concat(chunks).toString("utf8")));
        res.on("error", reject);
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms: ${req.method} ${req.path}`)));
    outgoing.on("error", reject);
    if (!waitsToContinue) return void outgoing.end(req.body);
    const sendBody = () => {
      clearTimeout(fallback);
      if (!outgoing.writableEnded) outgoing.end(req.body);
    };
    const fallback = setTimeout(sendBody, CONTINUE_WAIT_MS);
    outgoing.on("continue", sendBody);
    outgoing.on("response", () => clearTimeout(fallback));
    outgoing.on("close", () => clearTimeout(fallback));
  });
}

/** Bodies larger than this wait for `100 Continue` (or {@link CONTINUE_WAIT_MS}). */
const EXPECT_CONTINUE_BYTES = 64 * 1024;
const CONTINUE_WAIT_MS = 1000;
