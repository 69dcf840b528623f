import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small origin for trying the read-through proxy (`GET /v1/proxy/{path}`) locally:
 * `DEMO_ORIGIN=1 npm start` starts it on a free loopback port and sets `ORIGIN_URL` to it.
 * Each path shows one caching behaviour, through its `Cache-Control` and `Cache-Tag` headers:
 *
 * | path | answers | cached by the proxy |
 * |---|---|---|
 * | `/products/{id}` | JSON product | 60 s, stale-while-revalidate 30 s, tags `products`, `product:{id}` |
 * | `/products` | JSON list | 30 s, tag `products` |
 * | `/time` | the origin's clock | 5 s, tag `time` (watch `Age` and `X-Cache`) |
 * | `/private` | a per-user answer | never (`Cache-Control: private`) |
 * | `/` | this list | never (`no-store`) |
 *
 * Anything else is a 404 (passed through, never stored).
 */
export interface DemoOrigin {
  url: string;
  close(): Promise<void>;
}

const PATHS = {
  "/products/{id}": "a product (max-age=60, stale-while-revalidate=30; Cache-Tag: products, product:{id})",
  "/products": "the product list (max-age=30; Cache-Tag: products)",
  "/time": "the origin's clock (max-age=5; Cache-Tag: time)",
  "/private": "a per-user answer (Cache-Control: private: never cached)",
};

/** Starts the demo origin on 127.0.0.1 (`port` 0: a free one). */
export async function startDemoOrigin(port = 0): Promise<DemoOrigin> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://origin").pathname;
    const product = /^\/products\/([\w-]{1,64})$/.exec(path);
    if (product) {
      const id = product[1]!;
      return json(res, "public, max-age=60, stale-while-revalidate=30", `products,product:${id}`, { id, name: `Product ${id}`, price: 100 + (id.length % 7), servedAt: new Date().toISOString() });
    }
    switch (path) {
      case "/products":
        return json(res, "public, max-age=30", "products", { products: ["1", "2", "42"].map((id) => ({ id, href: `/products/${id}` })) });
      case "/time":
        return json(res, "public, max-age=5", "time", { now: new Date().toISOString() });
      case "/private":
        return json(res, "private, max-age=60", undefined, { user: "you", note: "private: the proxy serves this but never stores it" });
      case "/":
        return json(res, "no-store", undefined, { paths: PATHS });
      default:
        return json(res, "no-store", undefined, { error: "not found", paths: PATHS }, 404);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: ServerResponse, cacheControl: string, cacheTag: string | undefined, body: unknown, status = 200): void {
  const headers: Record<string, string> = { "Content-Type": "application/json", "Cache-Control": cacheControl };
  if (cacheTag) headers["Cache-Tag"] = cacheTag;
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}
