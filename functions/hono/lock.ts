import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { Locks } from "../../shared/lock/locks";
import { type HeldLease, withLock as withLockCore, type WithLockOptions } from "../../shared/lock/with-lock";
import { lockHeld } from "../lock/problems";
import { coreOf } from "./cores";

/** What {@link lock} puts on `c.var`: the lease the route runs under. */
export interface LockVariables {
  /** The lease: `fence` to guard writes, `signal` that fires if the lease is lost. */
  lease: HeldLease;
}

/** Options of the {@link lock} middleware: those of `withLock`, and the lock's name. */
export interface LockMiddlewareOptions extends WithLockOptions {
  /** The lock's name, or a function of the request (e.g. `(c) => \`order:${c.req.param("id")}\``). */
  name: string | ((c: Context) => string | Promise<string>);
  /** The locks (default: `c.var.locks` set by `edgeRedis()`, else made from `c.env`). */
  locks?: (c: Context) => Locks;
}

/**
 * Runs the route while holding the lock `name`: acquired before the route (waiting up to
 * `waitMs`, default 0), renewed in the background while it runs (every third of `ttlMs`,
 * default 10000), released after it. The route finds the lease on `c.var.lease`: its `fence`
 * grows with every grant (pass it to the storage you write to), and its `signal` fires if the
 * lease is lost. Still held by another after `waitMs`: a 409 `lock-held` problem with
 * `Retry-After`, and the route does not run. For mutation routes (POST, PUT, PATCH, DELETE).
 *
 * @example
 * app.post("/orders/:id/pay", lock({ name: (c) => `order:${c.req.param("id")}`, ttlMs: 5000 }), async (c) => {
 *   await pay(c.req.param("id"), c.var.lease.fence);
 *   return c.json({ paid: true });
 * });
 */
export function lock(options: LockMiddlewareOptions): MiddlewareHandler<{ Variables: LockVariables }> {
  const { name, locks, ...acquire } = options;
  return createMiddleware<{ Variables: LockVariables }>(async (c, next) => {
    const lockName = typeof name === "function" ? await name(c) : name;
    const core = locks ? locks(c) : locksOf(c);
    const run = await withLockCore(
      core,
      lockName,
      async (lease) => {
        c.set("lease", lease);
        await next();
      },
      acquire,
    );
    if (!run.acquired) throw lockHeld(lockName, run.retryAfterMs);
  });
}

/**
 * Runs `fn` while holding the lock `name` (renewed in the background, released after) and
 * returns what it returns; the Hono form of `withLock` from the lock entry. Held by another
 * after `waitMs`: throws the 409 `lock-held` problem (with `Retry-After`), and `fn` never runs.
 * @example
 * app.post("/reports", async (c) => c.json(await withLock(c, "nightly-report", ({ fence }) => build(fence), { waitMs: 500 })));
 */
export async function withLock<T>(c: Context, name: string, fn: (lease: HeldLease) => Promise<T> | T, options: WithLockOptions = {}): Promise<T> {
  const run = await withLockCore(locksOf(c), name, fn, options);
  if (!run.acquired) throw lockHeld(name, run.retryAfterMs);
  return run.value;
}

/** The locks of this request: `c.var.locks` when `edgeRedis()` set them, else made from `c.env`. */
export function locksOf(c: Context): Locks {
  return coreOf(c, "locks", (redis) => new Locks(redis));
}
