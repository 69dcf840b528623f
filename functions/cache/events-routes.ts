import { z } from "@hono/zod-openapi";
import { MAX_TAGS, validateTags } from "../../shared/cache";
import { subscribeInvalidations, touchesTags } from "../../shared/cache/events";
import type { InvalidationEvent } from "../../shared/cache/types";
import { problems, v1Route } from "../platform/openapi";
import { createRouter, redisOf } from "../platform/router";
import { coreCheck } from "../platform/validation";
import { readCacheConfig } from "./config";

/** A heartbeat comment at least this often (25 s), so proxies keep the stream open and a gone client is noticed. */
export const HEARTBEAT_MS = 25_000;

/**
 * The stream's timing, read by every new stream. A test seam, not configuration: tests shorten
 * `heartbeatMs` to see heartbeats in milliseconds through the Worker's own fetch (they run in its
 * isolate); no var or query parameter reaches it, so a deployed Worker always uses {@link HEARTBEAT_MS}.
 * @default { heartbeatMs: HEARTBEAT_MS }
 * @example
 * eventStreamTiming.heartbeatMs = 50; // in a test, restored afterwards
 */
export const eventStreamTiming: { heartbeatMs: number } = { heartbeatMs: HEARTBEAT_MS };

const Tags = z
  .string()
  .superRefine(coreCheck((value) => validateTags(value.split(",").filter(Boolean))))
  .optional()
  .openapi({ description: `Comma-separated tags (at most ${MAX_TAGS}): only events that touch one of them`, example: "users,prices" });

const route = v1Route({
  method: "get",
  path: "/v1/events",
  summary: "Live invalidation events (Server-Sent Events)",
  description:
    "A text/event-stream of every invalidation applied (now, scheduled, or by a cron rule): each event is " +
    '`event: invalidation`, an `id`, and `data: {"tags":[...],"keys":[...],"mode":"hard"|"soft","at":"<RFC 3339>"}`. ' +
    `A heartbeat comment comes at least every ${HEARTBEAT_MS / 1000} s. Best-effort, as Redis pub/sub is: events ` +
    "published while no stream is open are lost; reconnect to resume from now.",
  request: { query: z.object({ tags: Tags }) },
  responses: {
    200: { description: "The event stream", content: { "text/event-stream": { schema: z.string() } } },
    ...problems(400),
  },
});

/** One event in SSE framing; the data is one line (JSON has no raw newlines). */
export function sseEvent(id: string, event: InvalidationEvent): string {
  return `id: ${id}\nevent: invalidation\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * `GET /v1/events`: relays the cache's invalidation channel to the client as Server-Sent Events,
 * filtered by `tags`. The Worker holds one subscription per open stream and ends it when the
 * client goes away (a write fails: within one heartbeat) or the subscription ends (the stream
 * then closes, and the client reconnects).
 */
export const eventRoutes = createRouter().openapi(route, (c) => {
  const tags = (c.req.valid("query").tags ?? "").split(",").filter(Boolean);
  const channel = readCacheConfig(c.env).channel ?? `${c.var.config.keyPrefix}:cache:invalidations`;
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  let sequence = 0;
  let closed = false;

  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    void subscription.close().catch(() => {});
    void writer.close().catch(() => {});
  };
  const send = (text: string) => {
    if (!closed) writer.write(encoder.encode(text)).catch(close);
  };
  const subscription = subscribeInvalidations(redisOf(c), channel, {
    event: (event) => {
      if (touchesTags(event, tags)) send(sseEvent(`${Date.parse(event.at)}-${++sequence}`, event));
    },
    end: close,
  });
  const heartbeat = setInterval(() => send(": heartbeat\n\n"), eventStreamTiming.heartbeatMs);
  c.req.raw.signal?.addEventListener("abort", close);
  send(": subscribed\n\n");
  return new Response(readable, {
    status: 200,
    headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" },
  });
});
