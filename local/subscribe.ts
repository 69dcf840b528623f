/**
 * Upstash's pub/sub over Server-Sent Events: `/subscribe/{channel}…` and `/psubscribe/{pattern}…`
 * answer with an event stream fed by a Redis connection in subscribed mode.
 *
 * The protocol, as the unchanged `@upstash/redis` client reads it (`HttpClient.request` and
 * `Subscriber.handleMessage` in its `pkg/http.ts` and `pkg/commands/subscribe.ts`):
 * - The client splits the body at `\n` and hands on every line that starts with `data: `;
 *   other lines (blank ones, `:` comments) are ignored. Each event here is one such line and a
 *   blank line, so it is also a well-formed SSE event for any other reader.
 * - First `subscribe,{channel},{count}` (`psubscribe,{pattern},{count}`) per name, the count
 *   being the stream's subscriptions so far, as Redis reports it; then
 *   `message,{channel},{payload}` or `pmessage,{pattern},{channel},{payload}` per message. The
 *   client splits at the first two (three) commas only, so a payload may contain commas; a
 *   channel or pattern that contains one is misread by the client (nothing here can help that).
 * - Payloads are sent as plain UTF-8 even when the request says `Upstash-Encoding: base64` (the
 *   client always does, by default): the client base64-decodes JSON replies only, and hands
 *   stream lines on as they are, then JSON-parses them (or not, with
 *   `automaticDeserialization: false`). Bytes that are not UTF-8 arrive replaced by U+FFFD,
 *   as the client's TextDecoder would have them.
 * - The client ends a subscription by aborting its request; the stream then ends here, which
 *   closes its Redis connection, and closing a connection unsubscribes it.
 *
 * Each stream has a Redis connection of its own (not one shared subscriber fanning out), so
 * PUBLISH's reply and `PUBSUB NUMSUB` count every stream as a subscriber, and each stream's
 * `subscribe` count starts at 1, as the client's own tests expect from Upstash.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Redis } from "ioredis";
import { sendJson } from "./http-io";
import type { ConnectionPool } from "./pool";
import type { SubscribeRequest } from "./request";
import type { StatsCounter } from "./stats";

/** Most subscribe streams open at once, unless configured otherwise. */
export const DEFAULT_MAX_STREAMS = 256;

/**
 * A stream whose client has this much unread is cut, as Redis cuts a subscriber whose output
 * buffer passes 32 MB (`client-output-buffer-limit pubsub`).
 */
const MAX_UNSENT_BYTES = 32 * 1024 * 1024;

/**
 * One server-sent event carrying `fields` joined by commas, e.g. `data: message,ch,hi\n\n`.
 *
 * A line break inside a field would end the event early: the client takes only the first line
 * (truncating the payload) and reads a following line that starts with `data: ` as an event of
 * its own, so a payload could forge messages on other channels. Standard SSE (one `data:` line
 * per payload line) fails the same way with this client, and it has no escape it undoes. So CR
 * and LF are sent as the two characters `\r` and `\n`: a JSON payload with a raw line break
 * inside a string then parses to the original text; plain text arrives with visible `\n`.
 *
 * @example sseEvent(["message", "ch", "a,b"]) // "data: message,ch,a,b\n\n"
 */
export function sseEvent(fields: readonly string[]): string {
  return `data: ${fields.join(",").replace(/\r/g, "\\r").replace(/\n/g, "\\n")}\n\n`;
}

/** What the streams need from the endpoint. */
export interface SubscriptionStreamsOptions {
  pool: ConnectionPool;
  stats: StatsCounter;
  /** Most streams open at once; a request beyond is answered 429. */
  maxStreams: number;
}

/** One open stream: its response, and its Redis connection once there is one. */
interface Stream {
  res: ServerResponse;
  conn?: Redis;
  ended: boolean;
  release: () => void;
}

/** The subscribe streams of one endpoint, bounded in number. */
export class SubscriptionStreams {
  private readonly open = new Set<Stream>();
  private closed = false;

  constructor(private readonly options: SubscriptionStreamsOptions) {}

  /**
   * Answers one subscribe request: an event stream that lasts until the client goes away, the
   * Redis connection drops or {@link closeAll} is called. Before the stream starts, a failure
   * is answered as JSON: 429 when too many streams are open, 503 when Redis cannot subscribe.
   */
  async serve(req: IncomingMessage, res: ServerResponse, request: SubscribeRequest, syncToken: string): Promise<void> {
    const { pool, stats, maxStreams } = this.options;
    stats.recordSubscribeRequest();
    // The client sends `[]` as the body; nothing in it matters.
    req.resume();
    if (this.closed) return sendJson(res, 503, { error: "ERR the endpoint is closing" }, syncToken);
    if (this.open.size >= maxStreams) {
      return sendJson(res, 429, { error: `ERR too many subscribe streams: ${maxStreams} are open, the most this endpoint allows` }, syncToken);
    }

    const stream: Stream = { res, ended: false, release: stats.openStream() };
    this.open.add(stream);
    res.once("close", () => this.end(stream));

    let conn: Redis;
    try {
      conn = await pool.openSubscriber();
    } catch (error) {
      this.end(stream);
      return unavailable(res, error, syncToken);
    }
    stream.conn = conn;
    if (stream.ended) return void conn.disconnect();
    conn.once("end", () => this.end(stream));

    // Messages that arrive before every subscription is confirmed wait, so the `subscribe`
    // events come first. ioredis emits a message as soon as it parses it, before the promise
    // of a SUBSCRIBE confirmed in the same read settles.
    let pending: string[] | null = [];
    const deliver = (event: string) => {
      if (pending) pending.push(event);
      else this.write(stream, event);
    };
    if (request.command === "SUBSCRIBE") {
      conn.on("message", (channel: string, message: string) => deliver(sseEvent(["message", channel, message])));
    } else {
      conn.on("pmessage", (pattern: string, channel: string, message: string) =>
        deliver(sseEvent(["pmessage", pattern, channel, message])),
      );
    }

    const confirmations: string[] = [];
    try {
      for (const name of request.names) {
        const count = request.command === "SUBSCRIBE" ? await conn.subscribe(name) : await conn.psubscribe(name);
        confirmations.push(sseEvent([request.command.toLowerCase(), name, String(count)]));
      }
    } catch (error) {
      this.end(stream);
      return unavailable(res, error, syncToken);
    }
    if (stream.ended) return unavailable(res, new Error("the stream ended while subscribing"), syncToken);

    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "upstash-sync-token": syncToken,
    });
    for (const event of [...confirmations, ...pending]) this.write(stream, event);
    pending = null;
  }

  /** Ends every stream (their clients see the body end) and refuses new ones. */
  closeAll(): void {
    this.closed = true;
    for (const stream of [...this.open]) this.end(stream);
  }

  private write(stream: Stream, event: string): void {
    if (stream.ended) return;
    stream.res.write(event);
    // A client that stops reading must not grow this process without bound.
    if (stream.res.writableLength > MAX_UNSENT_BYTES) stream.res.destroy();
  }

  /** Ends a stream once: frees its slot, closes its Redis connection (which unsubscribes it). */
  private end(stream: Stream): void {
    if (stream.ended) return;
    stream.ended = true;
    this.open.delete(stream);
    stream.release();
    stream.conn?.disconnect();
    // Before the headers, the request's own handler still answers (or finds the client gone).
    if (stream.res.headersSent && !stream.res.writableEnded && !stream.res.destroyed) stream.res.end();
  }
}

function unavailable(res: ServerResponse, error: unknown, syncToken: string): void {
  if (res.headersSent || res.destroyed) return;
  const message = error instanceof Error ? error.message : String(error);
  sendJson(res, 503, { error: `Redis is unavailable: ${message}` }, syncToken);
}
