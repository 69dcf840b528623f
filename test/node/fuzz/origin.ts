/**
 * The proxy's origin while fuzzing. Each path gets one behaviour, chosen by a hash of the path
 * (so a cached answer and a fresh one agree): plain cacheable 200s mostly, and the answers an
 * origin can give a proxy trouble with: bodiless and redirect statuses, 4xx and 5xx, hostile
 * Cache-Control, Cache-Tag and Surrogate-Key values, Set-Cookie, long content types, bodies
 * over the cache's value limit (declared or chunked), and a dropped connection. Every request
 * line is kept, so the suite can check that no fuzzed path reached the origin outside
 * ORIGIN_URL's base path.
 */
import { createHash } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FuzzOrigin {
  url: string;
  /** The raw path (without query) of every request received, in order. */
  paths(): string[];
  close(): Promise<void>;
}

const TEXT = { "Content-Type": "text/plain; charset=utf-8" };
// Just over CACHE_MAX_VALUE_BYTES' default (1 MiB): such a body is streamed through, uncached.
const OVERSIZE = Buffer.alloc(1024 * 1024 + 16, "o");

type Behaviour = (res: ServerResponse, path: string) => void;

const send = (status: number, headers: Record<string, string | string[]>, body = "") => (res: ServerResponse) => {
  res.writeHead(status, headers);
  res.end(body);
};

/** A plain cacheable 200 that names its path. */
const cacheable: Behaviour = (res, path) => send(200, { ...TEXT, "Cache-Control": "max-age=60", "Cache-Tag": "fuzz-origin" }, `origin ${path.slice(0, 200)}`)(res);

/** Weighted: the first behaviour (a plain cacheable 200) is the most common. */
const BEHAVIOURS: Behaviour[] = [
  cacheable,
  cacheable,
  cacheable,
  send(200, { "Content-Type": "text/html", "Cache-Control": "s-maxage=5, stale-while-revalidate=30, stale-if-error=60" }, "<script>alert(document.cookie)</script>"),
  send(200, { ...TEXT, "Cache-Control": "max-age=-5, s-maxage=abc" }, "negative"),
  send(200, { ...TEXT, "Cache-Control": "max-age=99999999999999999999999, stale-while-revalidate=1e400" }, "huge ttl"),
  send(200, { ...TEXT, "Cache-Control": "no-store" }, "no-store"),
  send(200, { ...TEXT, "Cache-Control": "max-age=60", "Set-Cookie": "session=1" }, "cookie"),
  send(200, { ...TEXT, "Cache-Control": "max-age=60", "Cache-Tag": ` ,,a, ,${"t".repeat(600)},\u00e9` }, "bad tags"),
  send(200, { ...TEXT, "Cache-Control": "max-age=60", "Cache-Tag": Array.from({ length: 200 }, (_, i) => `tag${i}`).join(",") }, "many tags"),
  send(200, { ...TEXT, "Cache-Control": "max-age=60", "Surrogate-Key": "  seed-tag   x\ty " }, "surrogate"),
  send(200, { "Content-Type": `text/plain; x=${"y".repeat(400)}`, "Cache-Control": "max-age=60" }, "long type"),
  send(200, { "Cache-Control": "max-age=60" }, "no type"),
  send(204, { "Cache-Control": "max-age=60" }),
  send(304, { "Cache-Control": "max-age=60" }),
  send(301, { Location: "https://elsewhere.example/x", "Cache-Control": "max-age=60" }, "moved"),
  send(404, { ...TEXT, "Cache-Control": "max-age=60" }, "not found"),
  send(410, TEXT, "gone"),
  send(500, TEXT, "boom"),
  send(503, { ...TEXT, "Retry-After": "1" }, "busy"),
  send(200, { "Content-Type": "application/octet-stream", "Content-Length": String(OVERSIZE.length), "Cache-Control": "max-age=60" }, OVERSIZE.toString("latin1")),
  (res) => {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Cache-Control": "max-age=60" });
    res.write(OVERSIZE.subarray(0, 512 * 1024));
    res.end(OVERSIZE.subarray(512 * 1024));
  },
  (res) => res.socket?.destroy(),
];

export async function startFuzzOrigin(): Promise<FuzzOrigin> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    seen.push(path);
    const pick = createHash("sha256").update(req.url ?? "/").digest().readUInt32BE(0) % BEHAVIOURS.length;
    BEHAVIOURS[pick]!(res, path);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths: () => [...seen],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
