import { keyspace } from "../keys";

/**
 * Every Redis key of the lock feature, under `<prefix>:lock:` (and `<prefix>:fenced:` for
 * {@link FencedStore} records). Built here and nowhere else; docs/locks.md "Key layout" says
 * what each holds.
 */
export interface LockKeys {
  /** The name's state: an exclusive lease or release marker (a string), or a semaphore (a sorted set). */
  lease: string;
  /** A semaphore's holders: token → fence. */
  holders: string;
  /** A semaphore's last fence. */
  fence: string;
}

/** Keys of lock `name` under `prefix`. */
export function lockKeys(prefix: string, name: string): LockKeys {
  const key = keyspace(prefix, "lock");
  return { lease: key("lease", name), holders: key("holders", name), fence: key("fence", name) };
}

/** The key that remembers, for a while, that `token` released its place in semaphore `name`. */
export function releasedKey(prefix: string, name: string, token: string): string {
  return keyspace(prefix, "lock")("released", name, token);
}

/** The key of a fenced record (see `FencedStore`). */
export function fencedRecordKey(prefix: string, resource: string): string {
  return keyspace(prefix, "fenced")("record", resource);
}
