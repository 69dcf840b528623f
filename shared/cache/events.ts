import type { RedisClient } from "../redis/client";
import { parseEvent } from "./codec";
import type { InvalidationEvent } from "./types";

/**
 * Invalidation events as they happen: every invalidation the cache applies is PUBLISHed on its
 * channel (`{tags, keys, mode, at}`, plus `id` when scheduled); this subscribes to that channel
 * through Upstash's pub/sub over REST (a server-sent event stream, as `@upstash/redis`'s
 * `subscribe()` speaks it).
 *
 * Best-effort, as Redis pub/sub is: an event published while nobody is subscribed is lost, and
 * a subscriber sees only what is published after its subscription started.
 */

/** What a subscription reports. */
export interface InvalidationListener {
  /** An event on the channel (those that are not valid events are skipped). */
  event(event: InvalidationEvent): void;
  /** The subscription ended without `close()`: the stream closed or failed. */
  end(): void;
}

/** A live subscription. */
export interface InvalidationSubscription {
  /** Unsubscribes (aborts the stream). Idempotent. */
  close(): Promise<void>;
}

/**
 * Subscribes to the invalidation events of `channel` (the cache's `channel`).
 * @example
 * const sub = subscribeInvalidations(redis, cache.channel, { event: (e) => console.log(e.tags), end: () => {} });
 * await sub.close();
 */
export function subscribeInvalidations(redis: Pick<RedisClient, "subscribe">, channel: string, listener: InvalidationListener): InvalidationSubscription {
  const subscriber = redis.subscribe<string>([channel]);
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    listener.end();
  };
  subscriber.on("message", ({ message }) => {
    let event: InvalidationEvent;
    try {
      event = parseEvent(String(message));
    } catch {
      return; // someone else's message on the channel
    }
    if (open) listener.event(event);
  });
  subscriber.on("unsubscribe", end);
  subscriber.on("error", end);
  return {
    close: async () => {
      open = false;
      await subscriber.unsubscribe();
    },
  };
}

/** Whether `event` touches one of `tags` (every event matches when `tags` is empty). */
export function touchesTags(event: InvalidationEvent, tags: readonly string[]): boolean {
  return tags.length === 0 || event.tags.some((tag) => tags.includes(tag));
}
