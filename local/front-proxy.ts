import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { findPortHolder } from "./port-holder";
import { guardRequest, type Problem } from "./request-guard";

/**
 * The public port of `npm start`: a small HTTP proxy in front of `wrangler dev`, which listens
 * on an internal loopback port. It exists because wrangler answers `/__scheduled` and
 * `/cdn-cgi/handler/*` before the Worker's own code runs, so only something in front of it can
 * refuse foreign hosts and cross-site triggers (see request-guard.ts).
 *
 * Bodies stream both ways, chunk by chunk (uploads, `text/event-stream` responses), and
 * WebSocket upgrades pass through. Until {@link FrontProxy.setUpstream} is called, every request
 * gets 503 with `Retry-After`, so the port can be taken first, before anything else starts.
 */
export interface FrontProxy {
  port: number;
  /** Starts forwarding to `wrangler dev` on 127.0.0.1:`port`. */
  setUpstream(port: number): void;
  /** Stops listening and cuts open connections. */
  close(): Promise<void>;
}

/** Thrown by {@link startFrontProxy} when the port is taken; the message says what to do. */
export class PortInUseError extends Error {
  override name = "PortInUseError";
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

/**
 * Listens on 127.0.0.1:`port`.
 * @throws PortInUseError naming the port, the `PORT` variable and, when it can be found, the
 *   process holding it.
 */
export async function startFrontProxy(port: number): Promise<FrontProxy> {
  let upstreamPort: number | undefined;
  const server = createServer((req, res) => {
    const refusal = guardRequest(req.headers, req.url ?? "/", port);
    if (refusal) return sendProblem(res, refusal);
    if (upstreamPort === undefined) {
      return sendProblem(res, { type: "urn:problem:starting", title: "Starting", status: 503, detail: "The Worker is still starting; retry in a moment." }, { "Retry-After": "1" });
    }
    forward(req, res, upstreamPort);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refusal = guardRequest(req.headers, req.url ?? "/", port);
    if (refusal || upstreamPort === undefined) return void socket.end(`HTTP/1.1 ${refusal?.status ?? 503} Refused\r\nConnection: close\r\n\r\n`);
    tunnel(req, socket, head, upstreamPort);
  });

  await listen(server, port);
  return {
    port,
    setUpstream: (p) => {
      upstreamPort = p;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function forward(req: IncomingMessage, res: ServerResponse, upstreamPort: number): void {
  const upstream = httpRequest({
    host: "127.0.0.1",
    port: upstreamPort,
    method: req.method,
    path: req.url,
    headers: endToEnd(req.headers),
  });
  upstream.on("response", (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
    // Headers go out at once: an event stream's client must not wait for the first event.
    res.flushHeaders();
    answer.pipe(res);
    answer.on("error", () => res.destroy());
  });
  upstream.on("error", () => {
    if (!res.headersSent) {
      sendProblem(res, { type: "urn:problem:worker-unavailable", title: "Worker unavailable", status: 502, detail: "wrangler dev did not answer this request (it may be restarting)." });
    } else {
      res.destroy();
    }
  });
  // A client that goes away (an aborted subscription, say) ends the upstream request too.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

function tunnel(req: IncomingMessage, socket: Socket, head: Buffer, upstreamPort: number): void {
  const upstream = connect({ host: "127.0.0.1", port: upstreamPort }, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
  });
  upstream.on("error", () => socket.destroy());
  socket.on("error", () => upstream.destroy());
}

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) kept[name] = value;
  return kept;
}

function sendProblem(res: ServerResponse, problem: Problem, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(problem);
  res.writeHead(problem.status, { "Content-Type": "application/problem+json", "Content-Length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EADDRINUSE") return reject(error);
      reject(new PortInUseError(portInUseMessage(port)));
    });
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

/** The message for a busy port: which port, who holds it (when known), and what to do. */
export function portInUseMessage(port: number): string {
  const holder = findPortHolder(port);
  const who = holder ? `by ${holder.command} (pid ${holder.pid})` : "by another process";
  return (
    `Port ${port} on 127.0.0.1 is already in use ${who}.\n` +
    `Stop that process${holder ? ` (kill ${holder.pid})` : ""}, or start on another port: PORT=${port + 1} npm start`
  );
}
