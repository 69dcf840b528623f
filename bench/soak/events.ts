import { body, drain, json, names, pause, type SoakContext } from "./context";
import type { AppliedInvalidation } from "./ledger";

/**
 * Long-lived subscribers of `GET /v1/events` (Server-Sent Events), each reading its stream for
 * the whole run, reconnecting if it ends, and keeping every event it received per connection.
 * Every frame is checked as it arrives: `event: invalidation`, an `id` of `<at ms>-<n>` with
 * `n` counting up by one per stream, a JSON `data` with tags, keys, mode and `at`, `at` never
 * going back (events are published by scripts Redis runs one at a time, with their `TIME`),
 * and, for a filtered stream, at least one of its tags.
 */

export interface ReceivedEvent extends AppliedInvalidation {
  atMs: number;
  /** A scheduled invalidation's id. */
  id?: string;
}

/**
 * One connection's watch: from the first event it received (proof that its subscription was
 * live then: Redis delivers a subscriber's messages in publishing order) to its last, or to
 * the closing probe it received. Events published strictly between the two must all be there.
 */
export interface Segment {
  startMs: number | null;
  endMs: number | null;
  events: ReceivedEvent[];
}

const MALFORMED_KEPT = 5;

export class EventSubscriber {
  readonly segments: Segment[] = [];
  /** The first few malformed frames, described; `malformedCount` counts them all. */
  readonly malformed: string[] = [];
  malformedCount = 0;
  /** Comment frames (`: subscribed`, `: heartbeat`). */
  comments = 0;
  #stopping = false;
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;

  /** @param tags the stream's filter (`?tags=`), or null for every event */
  constructor(
    readonly ctx: SoakContext,
    readonly label: string,
    readonly tags: readonly string[] | null,
  ) {}

  /** Whether an event with these tags is one this stream passes. */
  wants(tags: readonly string[]): boolean {
    return this.tags === null || tags.some((tag) => this.tags!.includes(tag));
  }

  /** Every event received, over every connection. */
  get received(): ReceivedEvent[] {
    return this.segments.flatMap((s) => s.events);
  }

  get reconnects(): number {
    return Math.max(0, this.segments.length - 1);
  }

  start(): void {
    this.#running = this.#run();
  }

  /** Whether the current connection received an event published at or after `atMs`. */
  hasSeenSince(atMs: number): boolean {
    return this.segments.at(-1)?.events.some((e) => e.atMs >= atMs) ?? false;
  }

  /** Ends the watch: the current connection's watch ends at `endMs` if it received that event, else at its last. */
  async stop(endMs: number | null): Promise<void> {
    if (this.#stopping) return this.#running;
    this.#stopping = true;
    const last = this.segments.at(-1);
    if (last) last.endMs = endMs !== null && this.hasSeenSince(endMs) ? endMs : (last.events.at(-1)?.atMs ?? null);
    this.#abort.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const path = `/v1/events${this.tags ? `?tags=${this.tags.map(encodeURIComponent).join(",")}` : ""}`;
    while (!this.#stopping) {
      const segment: Segment = { startMs: null, endMs: null, events: [] };
      this.segments.push(segment);
      const res = await this.ctx.recorder.time("events.connect", [200], () =>
        this.ctx.call(path, { signal: this.#abort.signal, headers: { Accept: "text/event-stream" } }),
      );
      if (res?.status === 200 && res.body) await this.#read(res.body, segment);
      else await drain(res);
      if (this.#stopping) break;
      // The stream ended by itself: its watch ends at the last event it received.
      segment.endMs = segment.events.at(-1)?.atMs ?? null;
      await pause(250);
    }
  }

  async #read(stream: ReadableStream<Uint8Array>, segment: Segment): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    let sequence = 0;
    const reader = stream.getReader();
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          sequence = this.#frame(buffer.slice(0, end), segment, sequence);
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // aborted at the end, or the connection broke: the caller decides
    }
  }

  /** Checks and keeps one frame; returns the stream's event count so far. */
  #frame(block: string, segment: Segment, sequence: number): number {
    const lines = block.split("\n").filter((line) => line !== "");
    if (lines.length === 0) return sequence;
    if (lines.every((line) => line.startsWith(":"))) {
      this.comments++;
      return sequence;
    }
    const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
    const bad = (why: string) => {
      this.malformedCount++;
      if (this.malformed.length < MALFORMED_KEPT) this.malformed.push(`${this.label}: ${why}: ${JSON.stringify(block.slice(0, 160))}`);
      return sequence + 1;
    };
    if (field("event") !== "invalidation") return bad("not an invalidation event");
    let data: Partial<ReceivedEvent> | undefined;
    try {
      data = JSON.parse(field("data") ?? "") as Partial<ReceivedEvent>;
    } catch {
      return bad("data is not JSON");
    }
    const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
    const atMs = Date.parse(String(data?.at));
    if (!data || !strings(data.tags) || !strings(data.keys) || (data.mode !== "hard" && data.mode !== "soft") || Number.isNaN(atMs)) {
      return bad("data is not an invalidation");
    }
    if (data.id !== undefined && typeof data.id !== "string") return bad("id in data is not a string");
    if (field("id") !== `${atMs}-${sequence + 1}`) return bad(`id is not '${atMs}-${sequence + 1}'`);
    const event: ReceivedEvent = { tags: data.tags!, keys: data.keys!, mode: data.mode, at: data.at!, atMs, ...(data.id ? { id: data.id } : {}) };
    const previous = segment.events.at(-1);
    if (previous && atMs < previous.atMs) return bad(`at went back from ${previous.at}`);
    if (!this.wants(event.tags)) return bad("outside the stream's tags");
    segment.startMs ??= atMs;
    segment.events.push(event);
    return sequence + 1;
  }
}

/**
 * Invalidates the probe tag (which every subscriber passes) until each subscriber's current
 * connection has received an event published at or after the probe: their watch then covers
 * everything published since. Returns the probe's `at` in ms, or null after `timeoutMs`.
 * The probes are invalidations like any other and go to the ledger.
 */
export async function probe(ctx: SoakContext, subscribers: readonly EventSubscriber[], timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await ctx.call("/v1/cache/invalidate", json({ tags: [names.probeTag(ctx)] })).catch(() => null);
    const applied = res?.status === 200 ? await body<AppliedInvalidation>(res) : (await drain(res), undefined);
    if (applied) {
      ctx.ledger.applied.push(applied);
      const atMs = Date.parse(applied.at);
      for (let waited = 0; waited < 1_000 && Date.now() < deadline; waited += 50) {
        if (subscribers.every((s) => s.hasSeenSince(atMs))) return atMs;
        await pause(50);
      }
    } else {
      await pause(250);
    }
  }
  return null;
}
