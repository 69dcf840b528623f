/**
 * The HTTP plumbing of the local endpoint: reading a bounded body, checking the bearer token,
 * writing JSON replies with the read-your-writes token header.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Largest request body Upstash accepts (free and pay-as-you-go plans): 10 MB. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Past this many bytes an oversized body is no longer drained but the socket is cut. Draining
 * a moderately oversized body first lets the client read the 413 instead of a reset.
 */
const MAX_DRAIN_BYTES = 8 * MAX_BODY_BYTES;

/** A body read with {@link readBody}: its bytes, or the fact that it was over the limit. */
export type BodyResult = { ok: true; body: Buffer } | { ok: false; tooLarge: true };

/**
 * Reads a request body of at most `limit` bytes.
 * A larger body is drained and reported as too large; a huge one destroys the socket.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.socket.destroy();
        return;
      }
      if (size <= limit) chunks.push(chunk);
    });
    req.once("end", () => resolve(size > limit ? { ok: false, tooLarge: true } : { ok: true, body: Buffer.concat(chunks) }));
    req.once("error", reject);
    req.once("close", () => {
      if (!req.complete) reject(new Error("request aborted"));
    });
  });
}

/**
 * Reads the caller's token: `Authorization: Bearer <token>`, or Upstash's `_token` query
 * parameter as a fallback.
 */
export function presentedToken(req: IncomingMessage, url: URL): string | null {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match?.[1] ?? null;
  }
  return url.searchParams.get("_token");
}

/** Compares tokens in constant time, so response timing does not leak the token. */
export function tokensMatch(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  const a = Buffer.from(presented, "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Issues `upstash-sync-token` values. Upstash uses them for read-your-writes across replicas;
 * one local Redis is always consistent, so a counter that only grows is enough.
 */
export class SyncTokens {
  private counter = 0;

  /** The next token, greater than every one before. */
  next(): string {
    this.counter++;
    return String(this.counter);
  }
}

/** Writes a JSON reply with the sync-token header. */
export function sendJson(res: ServerResponse, status: number, body: unknown, syncToken: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "upstash-sync-token": syncToken,
  });
  res.end(text);
}

/** Writes an empty reply (204 and the like) with the sync-token header. */
export function sendEmpty(res: ServerResponse, status: number, syncToken: string): void {
  res.writeHead(status, { "upstash-sync-token": syncToken });
  res.end();
}
