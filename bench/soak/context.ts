import type { Ledger } from "./ledger";
import type { Recorder } from "./recorder";

/**
 * What every soak operation is given, the names it works on, and the small HTTP helpers they
 * share. Names are unique to the run (a random run id), so a run never reads another's state.
 */
export interface SoakContext {
  runId: string;
  /** Calls the Worker: `path` relative to its URL, with the bearer token. */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** Fires the Worker's per-minute Cron Trigger once; 200 when the scheduled handler succeeded. */
  fireCron(): Promise<Response>;
  recorder: Recorder;
  ledger: Ledger;
}

const CACHE_TAGS = 8;
const RATE_IDS = 2;
const COUNTERS = 4;
const MEMBERS = 40;
const LOCK_NAMES = 4;
const SEMAPHORES = 2;
const HOT_KEYS = 4;
const PRODUCTS = 12;

export const sizes = { CACHE_TAGS, RATE_IDS, COUNTERS, MEMBERS, LOCK_NAMES, SEMAPHORES, HOT_KEYS, PRODUCTS } as const;

export const names = {
  cacheKey: (ctx: SoakContext, k: number) => `${ctx.runId}-item-${k}`,
  cacheTag: (ctx: SoakContext, k: number) => `${ctx.runId}-tag-${k % CACHE_TAGS}`,
  /** Entries only the L1 readers and their one writer per key touch; only ever soft-invalidated. */
  hotKey: (ctx: SoakContext, k: number) => `${ctx.runId}-hot-${k % HOT_KEYS}`,
  hotTag: (ctx: SoakContext, k: number) => `${ctx.runId}-hot-tag-${k % HOT_KEYS}`,
  rateId: (ctx: SoakContext, k: number) => `${ctx.runId}-caller-${k % RATE_IDS}`,
  counter: (ctx: SoakContext, k: number) => `${ctx.runId}-counter-${k % COUNTERS}`,
  board: (ctx: SoakContext) => `${ctx.runId}-board`,
  member: (k: number) => `player-${k % MEMBERS}`,
  lock: (ctx: SoakContext, k: number) => `${ctx.runId}-lock-${k % LOCK_NAMES}`,
  /** The record only holders of `lock` write: a count of sections and the last writer's fence. */
  lockRecord: (lock: string) => `${lock}-record`,
  semaphore: (ctx: SoakContext, k: number) => `${ctx.runId}-semaphore-${k % SEMAPHORES}`,
  /** A product of the demo origin, and the tag its proxied copy carries (`Cache-Tag: product:{id}`). */
  product: (k: number) => `p${k % PRODUCTS}`,
  productTag: (k: number) => `product:p${k % PRODUCTS}`,
  /** The tag of the invalidations that open and close the event streams' watch. */
  probeTag: (ctx: SoakContext) => `${ctx.runId}-probe`,
};

export const json = (body: unknown): RequestInit => ({ method: "POST", body: JSON.stringify(body) });
export const pick = (n: number) => Math.floor(Math.random() * n);
export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads and drops a body, so the connection goes back to the pool. */
export async function drain(res: Response | null): Promise<void> {
  await res?.arrayBuffer().catch(() => undefined);
}

/** Reads a JSON body, or undefined when it is not JSON or the connection broke. */
export async function body<T>(res: Response): Promise<T | undefined> {
  try {
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

/** A write whose answer was lost, or a 5xx, may have applied; a 4xx changed nothing. */
export const mayHaveApplied = (res: Response | null) => res === null || res.status >= 500;
