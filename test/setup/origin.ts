import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A programmable origin HTTP server for the read-through proxy tests. Tests inside workerd
 * program it over HTTP:
 * - `PUT /__origin/routes/<path>` with `{ status, headers, body, delayMs, drop, repeat, chunked }`
 *   sets what `GET /<path>` answers (`drop: true` destroys the socket: an origin that is down;
 *   `repeat: n` sends the body n times; `chunked: true` sends it without Content-Length, in parts);
 * - `GET /__origin/hits/<path>` returns `{ hits, urls }`: how often `/<path>` was fetched, and
 *   the path and query of each request (so a test can see the query string arrive);
 * - `DELETE /__origin/routes` forgets every route and count.
 * Unprogrammed paths answer 404.
 */
export interface OriginServer {
  url: string;
  close(): Promise<void>;
}

interface ProgrammedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  drop?: boolean;
  repeat?: number;
  chunked?: boolean;
}

export async function startOrigin(): Promise<OriginServer> {
  const routes = new Map<string, ProgrammedResponse>();
  const hits = new Map<string, number>();
  const urls = new Map<string, string[]>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    const path = url.pathname;
    if (path.startsWith("/__origin/")) return control(req, res, path.slice("/__origin".length));
    hits.set(path, (hits.get(path) ?? 0) + 1);
    urls.set(path, [...(urls.get(path) ?? []), `${path}${url.search}`]);
    const route = routes.get(path);
    if (!route) return send(res, 404, { "Content-Type": "text/plain" }, "not found");
    if (route.delayMs) await new Promise((r) => setTimeout(r, route.delayMs));
    if (route.drop) return req.socket.destroy();
    const body = (route.body ?? "").repeat(route.repeat ?? 1);
    if (!route.chunked) return send(res, route.status ?? 200, route.headers ?? {}, body);
    res.writeHead(route.status ?? 200, { ...route.headers, "Transfer-Encoding": "chunked" });
    const part = Math.max(1, Math.ceil(body.length / 4));
    for (let i = 0; i < body.length; i += part) res.write(body.slice(i, i + part));
    res.end();
  });

  async function control(req: IncomingMessage, res: ServerResponse, path: string) {
    if (req.method === "PUT" && path.startsWith("/routes/")) {
      routes.set(path.slice("/routes".length), JSON.parse(await readBody(req)) as ProgrammedResponse);
      return send(res, 204, {}, "");
    }
    if (req.method === "DELETE" && path === "/routes") {
      routes.clear();
      hits.clear();
      urls.clear();
      return send(res, 204, {}, "");
    }
    if (req.method === "GET" && path.startsWith("/hits/")) {
      const target = path.slice("/hits".length);
      return send(res, 200, { "Content-Type": "application/json" }, JSON.stringify({ hits: hits.get(target) ?? 0, urls: urls.get(target) ?? [] }));
    }
    send(res, 404, {}, "");
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string) {
  res.writeHead(status, headers);
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
