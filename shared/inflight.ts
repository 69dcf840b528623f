import { waitAtMost } from "./wait-at-most";

/**
 * Per-isolate single flight: concurrent calls for one key share one operation (one read, at
 * most one load). Keep one map per isolate (a module-level instance) and pass it to every core
 * built there (the cache's fetches, the leaderboards' hot reads); a core with its own map
 * behaves as another isolate would.
 *
 * A joiner waits at most `joinMs`: in Workers the first caller's request may end or be
 * cancelled while others wait on its promise, so a joiner that waits too long goes alone.
 */
export class InflightMap {
  readonly #calls = new Map<string, Promise<unknown>>();

  /**
   * Runs `operation` unless one is in flight for `key`, in which case it joins that one for up
   * to `joinMs` (then runs its own).
   */
  async run<T>(key: string, operation: () => Promise<T>, joinMs: number): Promise<T> {
    const current = this.#calls.get(key) as Promise<T> | undefined;
    if (current) {
      const joined = await waitAtMost(current, joinMs);
      if (joined.done) return joined.value;
      return operation();
    }
    const promise = operation();
    this.#calls.set(key, promise);
    try {
      return await promise;
    } finally {
      if (this.#calls.get(key) === promise) this.#calls.delete(key);
    }
  }
}
