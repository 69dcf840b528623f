/** What waiting at most some time for a promise gave: its value, or that the time ran out first. */
export type Waited<T> = { done: true; value: T } | { done: false };

/**
 * Waits for `promise` at most `ms`. When the time runs out first, the answer is `{ done: false }`
 * and the promise is left running (its outcome is the caller's to ignore). The one timer behind
 * every deadline in the cores: a single-flight joiner that goes alone, and a Redis call that
 * counts as unavailable ({@link withRedisDeadline}).
 */
export async function waitAtMost<T>(promise: Promise<T>, ms: number): Promise<Waited<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ done: true as const, value })), timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
