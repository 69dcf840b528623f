/**
 * The console's Server-Sent Events client (public/console/js/sse.js), in Node: the parser
 * against the text/event-stream rules, whatever the chunk boundaries, and the reconnecting
 * reader against a real HTTP server (Last-Event-ID on reconnect, backoff, fatal errors).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { openEventStream, SseParser } from "../../public/console/js/sse.js";

type Parsed = { events: { type: string; data: string; id: string }[]; comments: string[]; retries: number[] };

function parse(chunks: string[]): Parsed {
  const out: Parsed = { events: [], comments: [], retries: [] };
  const parser = new SseParser({
    onEvent: (e) => out.events.push(e),
    onComment: (c) => out.comments.push(c),
    onRetry: (ms) => out.retries.push(ms),
  });
  for (const chunk of chunks) parser.push(chunk);
  return out;
}

const STREAM =
  ": heartbeat\r\n\r\n" +
  'id: 1\nevent: invalidation\ndata: {"tags":["a"],"keys":[],"mode":"hard","at":"2026-01-01T00:00:00Z"}\n\n' +
  "data: first line\rdata:second line\r\r" + // CR line ends; no space after the colon
  "retry: 2500\nid\nevent: ping\n\n" + // no data: not dispatched; a bare "id" clears the id
  "id: 7\ndata\n\n" + // a bare "data" is one empty line of data
  "data: never finished"; // no blank line: not dispatched

const EXPECTED: Parsed = {
  comments: ["heartbeat"],
  retries: [2500],
  events: [
    { type: "invalidation", id: "1", data: '{"tags":["a"],"keys":[],"mode":"hard","at":"2026-01-01T00:00:00Z"}' },
    { type: "message", id: "1", data: "first line\nsecond line" },
    { type: "message", id: "7", data: "" },
  ],
};

describe("SseParser", () => {
  it("follows the event-stream rules for fields, comments, ids, retry and line ends", () => {
    expect(parse([STREAM])).toEqual(EXPECTED);
  });

  it("gives the same events whatever the chunk boundaries, a CR/LF pair split included", () => {
    for (let i = 1; i < STREAM.length; i++) {
      expect(parse([STREAM.slice(0, i), STREAM.slice(i)])).toEqual(EXPECTED);
    }
    expect(parse([...STREAM])).toEqual(EXPECTED);
  });
});

describe("openEventStream", () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A server whose n-th request (0-based) is answered by handlers[n] (the last one repeats). */
  async function serve(handlers: ((res: ServerResponse, headers: IncomingHttpHeaders) => void)[]) {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      (handlers[seen.length - 1] ?? handlers[handlers.length - 1]!)(res, req.headers);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, seen };
  }

  const eventStream = (res: ServerResponse, body: string) => {
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    res.end(body);
  };

  it("reconnects after the stream ends, sending the last event id, and stops when closed", async () => {
    const { url, seen } = await serve([
      (res) => eventStream(res, "id: a1\nevent: invalidation\ndata: 1\n\nid: a2\nevent: invalidation\ndata: 2\n\n"),
      (res) => eventStream(res, "id: a3\nevent: invalidation\ndata: 3\n\n"),
      () => {}, // never answers: the stream is closed while waiting
    ]);
    const events: string[] = [];
    const states: string[] = [];
    const stream = openEventStream({
      connect: (signal, lastEventId) => fetch(url, { signal, headers: lastEventId ? { "Last-Event-ID": lastEventId } : {} }),
      onEvent: (e) => events.push(`${e.id}:${e.data}`),
      onStatus: (s) => states.push(s.state),
      minDelayMs: 5,
      maxDelayMs: 20,
    });
    await expect.poll(() => seen.length).toBe(3);
    stream.close();
    await expect.poll(() => states.at(-1)).toBe("stopped");
    expect(events).toEqual(["a1:1", "a2:2", "a3:3"]);
    expect(seen.map((h) => h["last-event-id"])).toEqual([undefined, "a2", "a3"]);
    expect(states.slice(0, 6)).toEqual(["connecting", "open", "waiting", "connecting", "open", "waiting"]);
  });

  it("backs off on errors, doubling up to the ceiling, and reports each error", async () => {
    const { url, seen } = await serve([
      (res) => res.writeHead(503, { "Content-Type": "application/json" }).end("{}"),
      (res) => res.writeHead(200, { "Content-Type": "application/json" }).end("{}"), // not an event stream
    ]);
    const waits: { error: string; retryInMs: number }[] = [];
    const stream = openEventStream({
      connect: async (signal) => {
        const response = await fetch(url, { signal });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response;
      },
      onEvent: () => {},
      onStatus: (s) => {
        if (s.state === "waiting") waits.push({ error: (s.error as Error).message, retryInMs: s.retryInMs });
      },
      minDelayMs: 4,
      maxDelayMs: 16,
    });
    await expect.poll(() => waits.length).toBeGreaterThanOrEqual(4);
    stream.close();
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(waits[0]!.error).toBe("HTTP 503");
    expect(waits[1]!.error).toBe('expected text/event-stream, got "application/json"');
    // Each delay is jittered within [ceiling/2, ceiling]; the ceiling doubles from 4 ms up to 16 ms.
    const ceilings = [4, 8, 16, 16];
    waits.slice(0, 4).forEach((w, i) => {
      expect(w.retryInMs).toBeGreaterThanOrEqual(ceilings[i]! / 2);
      expect(w.retryInMs).toBeLessThanOrEqual(ceilings[i]!);
    });
  });

  it("stops at an error it is told is fatal (a 401: the token must be entered again)", async () => {
    const { url, seen } = await serve([(res) => res.writeHead(401).end()]);
    const states: { state: string; error?: unknown }[] = [];
    openEventStream({
      connect: async (signal) => {
        const response = await fetch(url, { signal });
        if (response.status === 401) throw Object.assign(new Error("unauthorized"), { status: 401 });
        return response;
      },
      onEvent: () => {},
      onStatus: (s) => states.push(s),
      isFatal: (error) => (error as { status?: number }).status === 401,
      minDelayMs: 1,
    });
    await expect.poll(() => states.at(-1)?.state).toBe("stopped");
    expect((states.at(-1)?.error as Error).message).toBe("unauthorized");
    expect(seen).toHaveLength(1);
  });

  it("reconnects when nothing, not even a heartbeat, arrives within the idle timeout", async () => {
    const { url, seen } = await serve([
      (res) => res.writeHead(200, { "Content-Type": "text/event-stream" }).write(": hi\n\n"), // then silence
    ]);
    const errors: string[] = [];
    const stream = openEventStream({
      connect: (signal) => fetch(url, { signal }),
      onEvent: () => {},
      onStatus: (s) => {
        if (s.state === "waiting") errors.push((s.error as Error).message);
      },
      idleTimeoutMs: 200,
      minDelayMs: 1,
    });
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(2);
    stream.close();
    expect(errors[0]).toBe("no data or heartbeat for 0.2 s");
  });
});
