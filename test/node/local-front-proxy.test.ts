/**
 * The public port of `npm start` (local/front-proxy.ts) in front of a stand-in for wrangler:
 * it refuses foreign Host headers and cross-site trigger requests with problem+json, streams
 * bodies both ways without buffering, ends the upstream request when the client goes away,
 * answers 503 until it has an upstream, and names the holder of a busy port.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PortInUseError, startFrontProxy, type FrontProxy } from "../../local/front-proxy";
import { freePort } from "../../local/ports";
import { waitFor } from "./processes";

let upstream: Server;
let upstreamPort: number;
let proxy: FrontProxy;
const seen: Array<{ path: string; host?: string; body: string }> = [];
let releaseStream: () => void = () => {};
let streamClosed = false;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === "/events") {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write("data: first\n\n");
      releaseStream = () => res.end("data: last\n\n");
      req.on("close", () => (streamClosed = true));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ path: req.url ?? "", host: req.headers.host, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { "Content-Type": "text/plain", "X-Upstream": "yes" });
      res.end(`upstream saw ${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  proxy = await startFrontProxy(await freePort());
  proxy.setUpstream(upstreamPort);
});

afterAll(async () => {
  await proxy?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** One request with exactly these headers (fetch would not let a test set Host). */
function call(path: string, headers: Record<string, string> = {}, body?: string, port = proxy.port) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: body ? "POST" : "GET", headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("front proxy", () => {
  it("answers 503 problem+json with Retry-After until it has an upstream", async () => {
    const starting = await startFrontProxy(await freePort());
    try {
      const res = await call("/health", {}, undefined, starting.port);
      expect(res.status).toBe(503);
      expect(res.headers["retry-after"]).toBe("1");
      expect(res.headers["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(res.text)).toMatchObject({ type: "urn:problem:starting", status: 503 });
      starting.setUpstream(upstreamPort);
      expect((await call("/health", {}, undefined, starting.port)).status).toBe(200);
    } finally {
      await starting.close();
    }
  });

  it("forwards loopback hosts with method, path, query, body and Host unchanged", async () => {
    for (const host of [`127.0.0.1:${proxy.port}`, `localhost:${proxy.port}`, `[::1]:${proxy.port}`, `LOCALHOST:${proxy.port}`]) {
      const res = await call("/v1/x?y=1", { host }, "payload");
      expect(res.status).toBe(200);
      expect(res.headers["x-upstream"]).toBe("yes");
      expect(res.text).toBe("upstream saw POST /v1/x?y=1");
      expect(seen.at(-1)).toEqual({ path: "/v1/x?y=1", host, body: "payload" });
    }
  });

  it("refuses any other Host (DNS rebinding) with a 403 problem naming the allowed hosts", async () => {
    const before = seen.length;
    for (const host of ["evil.example", `evil.example:${proxy.port}`, "127.0.0.1:1", `127.0.0.1.nip.io:${proxy.port}`]) {
      const res = await call("/v1/locks/demo", { host });
      expect(res.status).toBe(403);
      expect(res.headers["content-type"]).toBe("application/problem+json");
      const problem = JSON.parse(res.text);
      expect(Object.keys(problem).sort()).toEqual(["detail", "status", "title", "type"]);
      expect(problem).toMatchObject({ type: "urn:problem:host-not-allowed", status: 403 });
      expect(problem.detail).toContain(`localhost:${proxy.port}`);
    }
    expect(seen.length).toBe(before); // nothing reached the Worker
  });

  it("refuses cross-site browser requests to cron triggers, and lets curl, typed URLs and the same origin through", async () => {
    const before = seen.length;
    const triggers = ["/__scheduled?cron=*+*+*+*+*", "/cdn-cgi/handler/scheduled?cron=*", "/cdn-cgi/mf/scheduled", "/%5F_scheduled"];
    const crossSite: Array<Record<string, string>> = [{ "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }, { origin: "https://evil.example" }, { origin: "null" }, { origin: "http://localhost:3000" }];
    for (const path of triggers) {
      for (const headers of crossSite) {
        const res = await call(path, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(JSON.parse(res.text)).toMatchObject({ type: "urn:problem:cross-site-trigger", title: "Cross-site trigger refused", status: 403 });
      }
    }
    expect(seen.length).toBe(before);

    const allowed: Array<Record<string, string>> = [{}, { "sec-fetch-site": "none" }, { "sec-fetch-site": "same-origin", origin: `http://127.0.0.1:${proxy.port}` }];
    for (const headers of allowed) {
      expect((await call("/__scheduled?cron=*+*+*+*+*", headers)).status).toBe(200);
    }
    // Other paths are not triggers: a cross-site request to them is the Worker's to judge.
    expect((await call("/health", { "sec-fetch-site": "cross-site" })).status).toBe(200);
  });

  it("streams an event stream as it is written, and ends the upstream request when the client leaves", async () => {
    streamClosed = false;
    const firstEvent = await new Promise<{ res: IncomingMessage; chunk: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxy.port, path: "/events", headers: { host: `localhost:${proxy.port}` } }, (res) => {
        res.once("data", (chunk: Buffer) => resolve({ res, chunk: chunk.toString() }));
      });
      req.on("error", reject);
      req.end();
    });
    // The upstream has not ended the response: the first event arrived on its own.
    expect(firstEvent.res.headers["content-type"]).toBe("text/event-stream");
    expect(firstEvent.chunk).toBe("data: first\n\n");
    firstEvent.res.destroy();
    await waitFor(() => streamClosed, "the upstream request to close", 5_000);
    releaseStream();
  });

  it("fails at once on a busy port, naming the port, PORT and the process holding it", async () => {
    const error = await startFrontProxy(proxy.port).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    const message = (error as Error).message;
    expect(message).toContain(`Port ${proxy.port}`);
    expect(message).toContain("PORT=");
    expect(message).toContain(`pid ${process.pid}`); // this test process holds it
  });
});
