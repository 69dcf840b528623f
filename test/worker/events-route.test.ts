/**
 * GET /v1/events through the Worker's own fetch, against the local endpoint and its Redis: the
 * bearer gate, the SSE framing of an invalidation made through the API, `?tags=` filtering,
 * heartbeats, and the end of the Worker's subscription when the client goes away. The
 * subscription is observed in Redis itself (PUBSUB NUMSUB on the channel), which is also the
 * latch that says a stream is live before anything is published on it.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readCacheConfig } from "../../functions/cache/config";
import { eventStreamTiming, HEARTBEAT_MS } from "../../functions/cache/events-routes";
import { readConfig } from "../../functions/platform/config";
import { cacheKeys } from "../../shared/cache/keys";
import { api, json, uniqueName } from "./helpers";

/** One server-sent event block: its comment lines and fields, in order. */
interface Frame {
  lines: string[];
  comments: string[];
  id?: string;
  event?: string;
  data?: string;
}

function parseFrame(block: string): Frame {
  const frame: Frame = { lines: block.split("\n"), comments: [] };
  for (const line of frame.lines) {
    if (line.startsWith(":")) {
      frame.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id" || field === "event" || field === "data") frame[field] = value;
  }
  return frame;
}

/** Reads a text/event-stream body in the background; tests wait for the frame they expect. */
class EventStream {
  readonly frames: Frame[] = [];
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private ended = false;
  private wake: () => void = () => {};

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
    void this.pump();
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          this.frames.push(parseFrame(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
        }
        this.wake();
      }
    } catch {
      // cancelled or failed: either way, no more frames
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  /** The first frame (after `from`) that `match`es, or throws after `timeoutMs` or at the stream's end. */
  async next(match: (frame: Frame) => boolean, what: string, timeoutMs = 10_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (this.ended || left <= 0) {
        throw new Error(`no ${what} ${this.ended ? "before the stream ended" : `within ${timeoutMs} ms`}; frames: ${JSON.stringify(this.frames.map((f) => f.lines))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The invalidation events received so far. */
  invalidations(): Array<{ tags: string[]; keys: string[]; mode: string; at: string }> {
    return this.frames.filter((f) => f.event === "invalidation").map((f) => JSON.parse(f.data ?? "null"));
  }

  /** Disconnects, as a client that goes away does. */
  cancel(): Promise<void> {
    return this.reader.cancel().catch(() => {});
  }
}

/** The Worker's invalidation channel, as the route computes it. */
const channel = readCacheConfig(env).channel ?? cacheKeys(readConfig(env).keyPrefix).defaultChannel;

/** PUBSUB NUMSUB of the channel, sent straight to the local endpoint. */
async function subscribers(): Promise<number> {
  const res = await fetch(env.UPSTASH_REDIS_REST_URL!, {
    method: "POST",
    headers: { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}` },
    body: JSON.stringify(["PUBSUB", "NUMSUB", channel]),
  });
  const { result } = await res.json<{ result: [string, number | string] }>();
  return Number(result[1]);
}

/** Polls the channel's subscribers every 20 ms until there are `n`, failing after 5 s with the last count read. */
function subscribersReach(n: number, what: string): Promise<void> {
  return expect.poll(subscribers, { timeout: 5000, interval: 20, message: what }).toBe(n);
}

let baseline = 0;
const streams: EventStream[] = [];

/** Opens a stream and returns once its subscription is live in Redis (one more subscriber). */
async function openStream(query = ""): Promise<{ res: Response; stream: EventStream }> {
  const before = await subscribers();
  const res = await api(`/v1/events${query}`, { headers: { Accept: "text/event-stream" } });
  expect(res.status).toBe(200);
  const stream = new EventStream(res.body!);
  streams.push(stream);
  await subscribersReach(before + 1, "subscribers of the channel once the stream is open");
  return { res, stream };
}

async function invalidate(body: { tags?: string[]; keys?: string[]; mode?: "hard" | "soft" }) {
  const res = await api("/v1/cache/invalidate", json(body));
  expect(res.status).toBe(200);
  return res.json<{ tags: string[]; keys: string[]; mode: string; at: string }>();
}

beforeAll(async () => {
  baseline = await subscribers();
});

afterEach(async () => {
  eventStreamTiming.heartbeatMs = HEARTBEAT_MS;
  await Promise.all(streams.splice(0).map((stream) => stream.cancel()));
  await subscribersReach(baseline, "subscribers of the channel after the test's streams closed");
});

describe("GET /v1/events", () => {
  it("answers 401 problem+json without the bearer token", async () => {
    const res = await api("/v1/events", { auth: false });
    expect(res.status).toBe(401);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 401 });
    expect(await subscribers()).toBe(baseline);
  });

  it("relays an invalidation made through the API as an SSE event", async () => {
    const { res, stream } = await openStream();
    expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("Cache-Control")).toBe("no-cache");

    const tag = uniqueName("ev-tag");
    const key = uniqueName("ev-key");
    const applied = await invalidate({ tags: [tag], keys: [key], mode: "soft" });

    const frame = await stream.next((f) => f.event === "invalidation" && f.data?.includes(tag) === true, `event for ${tag}`);
    expect(frame.lines.some((line) => line.startsWith("id: "))).toBe(true);
    expect(frame.id).toMatch(/^\S+$/);
    expect(frame.lines).toContain("event: invalidation");
    const data = JSON.parse(frame.data!);
    expect(data).toEqual({ tags: [tag], keys: [key], mode: "soft", at: applied.at });
    expect(new Date(data.at).toISOString()).toBe(data.at);
  });

  it("passes only the events that touch ?tags=a,b", async () => {
    const a = uniqueName("ev-a");
    const b = uniqueName("ev-b");
    const other = uniqueName("ev-other");
    const { stream: filtered } = await openStream(`?tags=${a},${b}`);
    const { stream: everything } = await openStream();

    await invalidate({ tags: [other] });
    await invalidate({ tags: [a] });
    await invalidate({ tags: [b], mode: "soft" });

    // The unfiltered stream proves the unrelated event was published while both were open;
    // events arrive in the order they were published, so by b's the other one would be there.
    await everything.next((f) => f.data?.includes(b) === true, `event for ${b} on the unfiltered stream`);
    expect(everything.invalidations().map((e) => e.tags)).toEqual([[other], [a], [b]]);
    await filtered.next((f) => f.data?.includes(b) === true, `event for ${b} on the filtered stream`);
    expect(filtered.invalidations().map((e) => e.tags)).toEqual([[a], [b]]);
  });

  it("sends a heartbeat comment at least every 30 s (25 s in production; shortened here)", async () => {
    expect(HEARTBEAT_MS).toBeLessThanOrEqual(30_000);
    expect(eventStreamTiming.heartbeatMs).toBe(HEARTBEAT_MS);

    eventStreamTiming.heartbeatMs = 50;
    const { stream } = await openStream();
    const isHeartbeat = (f: Frame) => f.lines.length === 1 && f.lines[0] === ": heartbeat";
    const first = await stream.next(isHeartbeat, "heartbeat", 2000);
    await stream.next(isHeartbeat, "second heartbeat", 2000, stream.frames.indexOf(first) + 1);
    expect(stream.frames.filter(isHeartbeat).length).toBeGreaterThanOrEqual(2);
    expect(stream.frames.every((f) => f.lines.every((line) => line.startsWith(":")))).toBe(true);
  });

  it("ends the Worker's subscription when the client disconnects", async () => {
    const before = await subscribers();
    const { stream } = await openStream();
    expect(await subscribers()).toBe(before + 1);

    await stream.cancel();
    // Well under one heartbeat (25 s): the disconnect itself ends the subscription.
    await subscribersReach(before, "subscribers of the channel after the client disconnected");
  });
});
