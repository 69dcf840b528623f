import { InvalidInputError, RedisAuthError, RedisUnavailableError } from "../errors";
import { randomHex } from "../hex";
import { DEFAULT_PREFIX } from "../keys";
import { assertRawReplies, type ScriptClient } from "../redis/client";
import { invalidateCall, parseEvent, parseRead, parseStore, readCall, releaseCall, State, storeCall, type ReadResult, type StoreOutcome } from "./codec";
import type { InflightMap } from "./inflight";
import { isolateInflight, isolateL1, isolateStats } from "./isolate";
import type { L1Cache, L1Copy, L1Read } from "./l1";
import { cacheKeys, type CacheKeys } from "./keys";
import { validateKey, validateKeys, validateSeconds, validateTags } from "./limits";
import { INVALIDATE, READ_ENTRY, RELEASE_LEASE, STORE_ENTRY } from "./scripts";
import type { CacheStats } from "./stats";
import type { CacheEntry, EntryOptions, FetchOptions, FetchResult, Invalidation, InvalidationEvent, Loaded } from "./types";
import { DEFAULT_MAX_VALUE_BYTES, encodeValue, json, ValueTooLargeError, type CacheValue, type EncodedValue } from "./value";
import { xfetchMultiplier } from "./xfetch";

/** The only Redis commands the cache sends: its scripts. */
export type CacheRedis = ScriptClient;

/** Options of a {@link Cache}; every one has a default. */
export interface CacheOptions {
  /** Key prefix of the deployment (KEY_PREFIX). Default "erf". */
  prefix?: string;
  /** Keeps entries apart from other users of the prefix: "kv" (default) or "proxy". */
  namespace?: string;
  /** Pub/Sub channel of invalidation events. Default `<prefix>:cache:invalidations`. */
  channel?: string;
  /** Largest value in bytes. Default 1 MiB. */
  maxValueBytes?: number;
  /** Fill lease: how long one caller may load a key before another may. Default 5000 ms. */
  leaseMs?: number;
  /** How long a caller without the lease waits for another's fill before loading. Default 2000 ms. */
  waitMs?: number;
  /** XFetch beta for early refresh; 0 (default) disables it. */
  xfetchBeta?: number;
  /** Uniform random numbers in [0, 1) for XFetch. Default Math.random. */
  random?: () => number;
  /**
   * The in-flight map concurrent fetches of one key share. Default: the isolate's own, shared by
   * every cache built in it (pass a new one to act as another isolate).
   */
  inflight?: InflightMap;
  /**
   * Longest load whose result is stored, and how long invalidation markers outlive their
   * cause. A fill that took longer is not stored, since the markers it must be checked against
   * may be gone. Default 60000 ms.
   */
  fillWindowMs?: number;
  /**
   * Where hits, stale hits, misses and fills are counted (flushed by {@link Cache.flushStats}).
   * Default: the isolate's own; `false` counts nothing.
   */
  stats?: CacheStats | false;
  /** Reports failures nobody awaits (background refreshes, a store after a load). Default console.warn. */
  onBackgroundError?: (error: unknown) => void;
  /**
   * The in-isolate L1 that reads with `maxStaleMs` may be answered from. Default: the isolate's
   * own (pass a new one to act as another isolate); `false` turns it off.
   */
  l1?: L1Cache | false;
}

/**
 * A read that accepts a copy from the isolate's memory (L1) when Redis confirmed it fresh no
 * longer ago than `maxStaleMs`. Absent: always ask Redis. Changes made through this isolate
 * take effect at once; changes made elsewhere within `maxStaleMs`.
 */
export interface L1ReadOptions {
  maxStaleMs?: number;
}

/**
 * Cache-aside with tags over Redis scripts: every read is one request (value, tag records and
 * Redis time together), a miss that loads is two plus the loader, and invalidating a tag is
 * O(1) whatever the number of entries carrying it. See docs/cache.md for the guarantees and
 * docs/costs.md for the billed commands of each operation.
 *
 * @example
 * const cache = new Cache(redis);
 * const user = await cache.getOrSet("user:1", () => db.user(1), { ttl: 60, tags: ["users"] });
 * await cache.invalidate({ tags: ["users"] });
 */
export class Cache {
  readonly keys: CacheKeys;
  readonly channel: string;
  readonly #redis: CacheRedis;
  readonly #maxValueBytes: number;
  readonly #leaseMs: number;
  readonly #waitMs: number;
  readonly #beta: number;
  readonly #random: () => number;
  readonly #inflight: InflightMap;
  readonly #fillWindowMs: number;
  readonly #onBackgroundError: (error: unknown) => void;
  readonly #stats: CacheStats | false;
  readonly #l1: L1Cache | false;

  constructor(redis: CacheRedis, options: CacheOptions = {}) {
    assertRawReplies(redis);
    this.#redis = redis;
    this.keys = cacheKeys(options.prefix ?? DEFAULT_PREFIX, options.namespace ?? "kv");
    this.channel = options.channel ?? this.keys.defaultChannel;
    this.#maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.#leaseMs = options.leaseMs ?? 5000;
    this.#waitMs = options.waitMs ?? 2000;
    this.#beta = options.xfetchBeta ?? 0;
    this.#random = options.random ?? Math.random;
    this.#inflight = options.inflight ?? isolateInflight;
    this.#stats = options.stats ?? isolateStats;
    this.#l1 = options.l1 ?? isolateL1;
    this.#fillWindowMs = options.fillWindowMs ?? 60_000;
    this.#onBackgroundError = options.onBackgroundError ?? reportBackgroundError;
  }

  /**
   * The entry, fresh or stale, or null when absent, expired or hard-invalidated. One request;
   * none when `maxStaleMs` is given and the isolate holds a copy Redis confirmed fresh within it
   * (the entry then has `l1`).
   */
  async get(key: string, options: L1ReadOptions = {}): Promise<CacheEntry | null> {
    validateKey(key);
    const l1 = this.#l1Lookup(key, options);
    if (l1.copy) {
      this.#count("hits");
      return fromCopy(l1.copy, this.#l1 as L1Cache);
    }
    const readAndSettle = async () => {
      const { read, entry } = await this.#readSettled(key, "", false, l1.known, l1.generation);
      return read.state === State.ErrorOnly ? null : entry;
    };
    // Readers accepting L1 copies share one read when theirs lapsed together (a hot key under
    // load), but never one that started before an invalidation made here (the generation).
    const entry =
      l1.generation >= 0
        ? await this.#inflight.run(`get\n${l1.generation}\n${this.keys.entry(key)}`, readAndSettle, this.#leaseMs + this.#waitMs)
        : await readAndSettle();
    this.#count(entry === null ? "misses" : entry.stale ? "staleHits" : "hits");
    return entry;
  }

  /** Runs a change of `tags` and `keys` through the L1 (see {@link IsolateCopies.changing}), when there is one. */
  #changing<T>(tags: readonly string[], keys: readonly string[], change: () => Promise<T>): Promise<T> {
    return this.#l1 ? this.#l1.changing(tags, keys.map((k) => this.keys.entry(k)), change) : change();
  }

  /**
   * One read of `key`, settled against the L1 (see {@link #l1Settle}). When Redis answered
   * "unchanged" for a copy that a change made through this isolate dropped meanwhile, reads
   * again, in full: never a false miss.
   */
  async #readSettled(key: string, token: string, takeLease: boolean, known: string, generation: number): Promise<{ read: ReadResult; entry: CacheEntry | null }> {
    for (;;) {
      const sentAt = this.#sentAt();
      const read = await this.#read(key, token, takeLease, known);
      const entry = this.#l1Settle(key, read, { generation, sentAt });
      if (!(read.unchanged && entry === null)) return { read, entry };
      known = "";
    }
  }

  /** The L1's clock before a read is sent (0 without an L1: nothing is kept then). */
  #sentAt(): number {
    return this.#l1 ? this.#l1.now() : 0;
  }

  /** A servable L1 copy, or the version to revalidate and the L1 generation the read starts at. */
  #l1Lookup(key: string, options: L1ReadOptions): { copy?: L1Copy; known: string; generation: number } {
    const l1 = this.#l1;
    if (!l1 || options.maxStaleMs === undefined) return { known: "", generation: -1 };
    const found = l1.lookup(this.keys.entry(key), options.maxStaleMs);
    if (found.kind === "hit") return { copy: found.copy, known: "", generation: l1.generation };
    return { known: found.kind === "revalidate" ? found.copy.version : "", generation: l1.generation };
  }

  /**
   * The entry of a read, kept in L1 when the read accepted it (generation >= 0) and it is fresh;
   * when Redis said the held copy is unchanged, that copy, confirmed now.
   */
  #l1Settle(key: string, read: ReadResult, l1Read: L1Read): CacheEntry | null {
    const l1 = this.#l1;
    const l1Key = this.keys.entry(key);
    if (read.unchanged) {
      const copy = l1 ? l1.lookup(l1Key, Number.POSITIVE_INFINITY) : { kind: "none" as const };
      if (copy.kind === "none" || !l1) return null; // dropped meanwhile by a change made here: read again (#readSettled)
      l1.confirm(l1Key, { nowUs: read.nowUs, freshUntilUs: read.freshUntilUs! }, l1Read.sentAt);
      return { ...fromCopy(copy.copy, l1), l1: undefined };
    }
    const entry = read.entry ?? null;
    if (l1 && l1Read.generation >= 0 && entry && (read.state === State.Fresh || read.state === State.EarlyRefresh)) {
      l1.keep(l1Key, entry, read.version ?? "", { nowUs: read.nowUs, freshUntilUs: read.freshUntilUs!, storedAtUs: read.storedAtUs! }, l1Read);
    }
    return entry;
  }

  /**
   * Flushes this isolate's statistics in one request when a few seconds have passed since the
   * last flush (else does nothing). Hand it to `waitUntil` after answering.
   */
  flushStats(): Promise<void> {
    return this.#stats ? this.#stats.flushIfDue(this.#redis, this.keys.stats) : Promise.resolve();
  }

  #count(kind: "hits" | "staleHits" | "misses" | "fills"): void {
    if (this.#stats) this.#stats.record(kind);
  }

  /**
   * Stores `value` under `key` (replacing any entry; a direct set is never refused by earlier
   * invalidations). One request.
   * @returns whether a live entry was replaced
   * @throws InvalidInputError (ValueTooLargeError over the size limit); nothing is stored
   */
  async set(key: string, value: CacheValue, options: EntryOptions): Promise<{ replaced: boolean }> {
    validateKey(key);
    const entry = resolveEntryOptions(options);
    const encoded = encodeValue(value, this.#maxValueBytes);
    const outcome = await this.#changing([], [key], () => this.#store(key, encoded, entry, "", ""));
    return { replaced: outcome.stored && outcome.replaced };
  }

  /** Removes `key` for good (a hard invalidation of the key, published like any other). Idempotent. */
  async delete(key: string): Promise<void> {
    await this.invalidate({ keys: [key] });
  }

  /**
   * Invalidates tags and keys now, in one request whatever the number of entries they reach,
   * and publishes `{tags, keys, mode, at}` on the channel. Once it returns, no entry (or fill in
   * progress) from before it is served as fresh.
   */
  async invalidate(invalidation: Invalidation): Promise<InvalidationEvent> {
    const validated = validateInvalidation(invalidation);
    const call = invalidateCall(this.keys, validated, { epoch: randomId(), fillWindowMs: this.#fillWindowMs, channel: this.channel });
    const [, event] = await this.#changing(validated.tags, validated.keys, () => INVALIDATE.run(this.#redis, call));
    return parseEvent(event);
  }

  /**
   * Cache-aside with stampede protection: returns the entry when fresh; when stale, returns it
   * and refreshes it in the background (one caller); when absent, loads it once per isolate
   * (in-flight map) and once across isolates (Redis lease), the others waiting briefly for the
   * fill. A loader error is answered with the stale entry within its stale-if-error window.
   */
  async fetch<L extends Loaded>(key: string, loader: () => Promise<L>, options: FetchOptions & L1ReadOptions = {}): Promise<FetchResult<L>> {
    validateKey(key);
    if (options.ttl !== undefined) resolveEntryOptions({ ...options, ttl: options.ttl });
    const l1 = this.#l1Lookup(key, options);
    if (l1.copy) {
      this.#count("hits");
      return { ...fromCopy(l1.copy, this.#l1 as L1Cache), status: "HIT-L1" };
    }
    const result = await this.#inflight.run(this.keys.entry(key), () => this.#fetch(key, loader, options, l1), this.#leaseMs + this.#waitMs);
    if (result.status !== "BYPASS") this.#count(result.status === "MISS" ? "misses" : result.status === "STALE" ? "staleHits" : "hits");
    return result;
  }

  /**
   * {@link fetch} for JSON values: the loader returns the value itself.
   * @example const n = await cache.getOrSet("count", () => countRows(), { ttl: 30, staleTtl: 300 });
   */
  async getOrSet<T>(key: string, loader: () => Promise<T>, options: FetchOptions & { ttl: number }): Promise<T> {
    const result = await this.fetch(key, async () => ({ value: json(await loader()) }), options);
    return unwrap(result.value) as T;
  }

  async #fetch<L extends Loaded>(
    key: string,
    loader: () => Promise<L>,
    options: FetchOptions,
    l1: { known: string; generation: number },
  ): Promise<FetchResult<L>> {
    const token = randomId();
    let waitedMs = 0;
    let delayMs = 20;
    let known = l1.known;
    for (;;) {
      let read: ReadResult;
      let entry: CacheEntry | null;
      try {
        ({ read, entry } = await this.#readSettled(key, token, true, known, l1.generation));
      } catch (error) {
        if (options.onRedisError === "throw") throw error;
        this.#onBackgroundError(error);
        return bypass(await loader());
      }
      known = "";
      if (entry && (read.state === State.Fresh || read.state === State.EarlyRefresh || read.state === State.Stale)) {
        if (read.lease && options.refresh === "inline") return this.#load(key, loader, options, read, token);
        if (read.lease) this.#refreshInBackground(key, loader, options, read, token);
        return { ...entry, status: read.state === State.Stale ? "STALE" : "HIT" };
      }
      // Absent, or expired with only stale-if-error left: load, or wait for whoever holds the lease.
      if (read.lease || waitedMs >= this.#waitMs) return this.#load(key, loader, options, read, read.lease ? token : "");
      const pause = Math.min(delayMs, this.#waitMs - waitedMs);
      await sleep(pause);
      waitedMs += pause;
      delayMs = Math.min(delayMs * 2, 250);
    }
  }

  /** Runs the loader and stores its value as of the read's Redis time; releases the lease if not stored. */
  async #load<L extends Loaded>(key: string, loader: () => Promise<L>, options: FetchOptions, read: ReadResult, token: string): Promise<FetchResult<L>> {
    let loaded: L;
    try {
      loaded = await loader();
    } catch (error) {
      await this.#release(key, token);
      if (read.state === State.ErrorOnly && read.entry) return { ...read.entry, status: "STALE" };
      throw error;
    }
    if (loaded.cache === false) {
      await this.#release(key, token);
      return bypass(loaded);
    }
    let entry: Required<EntryOptions>;
    let encoded: EncodedValue;
    try {
      entry = resolveEntryOptions({ ...options, ...definedOnly(loaded) } as EntryOptions);
      encoded = encodeValue(loaded.value, this.#maxValueBytes);
    } catch (error) {
      await this.#release(key, token);
      if (error instanceof ValueTooLargeError) return bypass(loaded);
      throw error;
    }
    let stale = false;
    try {
      // Not stored fresh (refused by an invalidation or a newer value, or stored soft-invalidated):
      // the value is still this call's answer, but never as fresh, for it or for any caller
      // that joined it in the in-flight map, possibly after the invalidation returned.
      const outcome = await this.#store(key, encoded, entry, String(read.nowUs), token);
      stale = !outcome.stored || outcome.stale;
      if (outcome.stored) this.#count("fills");
    } catch (error) {
      this.#onBackgroundError(error); // the value is good; only caching it failed
    }
    return { value: loaded.value, tags: entry.tags, ageSeconds: 0, ttlSeconds: stale ? 0 : entry.ttl, stale, status: "MISS", loaded };
  }

  #refreshInBackground<L extends Loaded>(key: string, loader: () => Promise<L>, options: FetchOptions, read: ReadResult, token: string): void {
    const fresh: ReadResult = { state: State.Absent, nowUs: read.nowUs, lease: true };
    const task = this.#load(key, loader, options, fresh, token).then(
      () => undefined,
      (error: unknown) => this.#onBackgroundError(error),
    );
    options.waitUntil?.(task);
  }

  async #read(key: string, token: string, takeLease: boolean, known = ""): Promise<ReadResult> {
    const gap = takeLease ? xfetchMultiplier(this.#beta, this.#random) : 0;
    const call = readCall(this.keys, key, { leaseMs: takeLease ? this.#leaseMs : 0, token, gap, known });
    return parseRead(await READ_ENTRY.run(this.#redis, call));
  }

  async #store(key: string, value: EncodedValue, entry: Required<EntryOptions>, asOf: string, token: string): Promise<StoreOutcome> {
    const call = storeCall(this.keys, key, { value, entry, asOf, token, storeId: randomId(), fillWindowMs: this.#fillWindowMs });
    return parseStore(await STORE_ENTRY.run(this.#redis, call));
  }

  async #release(key: string, token: string): Promise<void> {
    if (!token) return;
    try {
      await RELEASE_LEASE.run(this.#redis, releaseCall(this.keys, key, token));
    } catch (error) {
      this.#onBackgroundError(error); // the lease expires on its own
    }
  }
}

/** Validates entry options and fills in defaults (staleTtl 0, staleIfErrorTtl = staleTtl). */
export function resolveEntryOptions(options: Partial<EntryOptions>): Required<EntryOptions> {
  if (options.ttl === undefined) throw new InvalidInputError("ttl is required", "ttl");
  const ttl = validateSeconds(options.ttl, "ttl", 1);
  const staleTtl = validateSeconds(options.staleTtl ?? 0, "staleTtl", 0);
  const staleIfErrorTtl = validateSeconds(options.staleIfErrorTtl ?? staleTtl, "staleIfErrorTtl", 0);
  return { ttl, staleTtl, staleIfErrorTtl, tags: validateTags(options.tags) };
}

/** Validates an invalidation: mode, at most 64 tags and 100 keys, at least one of them. */
export function validateInvalidation(invalidation: Invalidation): Required<Invalidation> {
  const mode = invalidation.mode ?? "hard";
  if (mode !== "hard" && mode !== "soft") throw new InvalidInputError('mode must be "hard" or "soft"', "mode");
  const tags = validateTags(invalidation.tags);
  const keys = validateKeys(invalidation.keys);
  if (tags.length === 0 && keys.length === 0) throw new InvalidInputError("give at least one tag or key", "tags");
  return { tags, keys, mode };
}

/** The plain value: JSON as parsed, text as a string, bytes as a Uint8Array. */
export function unwrap(value: CacheValue): unknown {
  return value.type === "json" ? value.value : value.type === "text" ? value.text : value.bytes;
}

/**
 * The default report of work nobody awaits: an unavailable Redis in one line (it is expected
 * now and then, and the caller was answered anyway), anything else with its stack (a bug).
 */
function reportBackgroundError(error: unknown): void {
  if (error instanceof RedisUnavailableError || error instanceof RedisAuthError) {
    console.warn(`cache background work failed: ${error.name}: ${error.message}`);
  } else {
    console.warn("cache background work failed:", error);
  }
}

/** An L1 copy as an entry, its age and TTL counted on the local clock. */
function fromCopy(copy: L1Copy, l1: L1Cache): CacheEntry {
  const now = l1.now();
  return {
    ...copy.entry,
    ageSeconds: Math.max(0, Math.floor((now - copy.storedAt) / 1000)),
    ttlSeconds: Math.max(0, Math.ceil((copy.freshUntil - now) / 1000)),
    l1: { confirmedMsAgo: Math.max(0, now - copy.confirmedAt) },
  };
}

function bypass<L extends Loaded>(loaded: L): FetchResult<L> {
  return { value: loaded.value, tags: loaded.tags ?? [], ageSeconds: 0, ttlSeconds: 0, stale: false, status: "BYPASS", loaded };
}

function definedOnly(loaded: Loaded): Partial<EntryOptions> {
  return Object.fromEntries(Object.entries(loaded).filter(([k, v]) => v !== undefined && k !== "value" && k !== "cache"));
}

/** 64 random bits as hex: lease tokens and tag epochs. */
function randomId(): string {
  return randomHex(8);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
