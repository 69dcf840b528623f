import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { Locks, MAX_LIMIT, MAX_TTL_MS, MAX_WAIT_MS, TOKEN_PATTERN } from "../../shared/lock";
import type { AppEnv } from "../platform/app-env";
import { readLockConfig } from "./config";
import { jsonBody, jsonResponse, optionalJsonBody, problems, v1Route } from "../platform/openapi";
import { createRouter, redisOf } from "../platform/router";
import { nameParam } from "../platform/validation";
import { heldByAnother, lockHeld, lockNotHeld, notOwner } from "./problems";

/**
 * The request's lock core. Its Redis client keeps the default retry: every lock operation is
 * safe to resend (see `shared/lock/locks.ts`).
 */
function locksOf(c: Context<AppEnv>): Locks {
  return new Locks(redisOf(c), { prefix: c.var.config.keyPrefix, defaultTtlMs: readLockConfig(c.env).defaultTtlMs });
}

const LockName = nameParam("name", "Lock name", "orders:42");
const NameParams = z.object({ name: LockName });

const Token = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
  .regex(TOKEN_PATTERN, "must be 32 lower-case hex characters")
  .openapi({ description: "The token returned by the acquire", example: "3f2a9c0d8e7b6a5f4e3d2c1b0a998877" });
const TtlMs = z.number().int().min(1).max(MAX_TTL_MS);

const AcquireBody = z
  .strictObject({
    ttlMs: TtlMs.optional().openapi({ description: "Lease in ms (default LOCK_DEFAULT_TTL_MS, 10000)", example: 10_000 }),
    waitMs: z.number().int().min(0).max(MAX_WAIT_MS).optional().openapi({ description: "Keep trying this long in ms (default 0)", example: 0 }),
    limit: z.number().int().min(1).max(MAX_LIMIT).optional().openapi({ description: "Holders at once (default 1; above 1: a counting semaphore)", example: 1 }),
  })
  .openapi("LockAcquire");

const LeaseSchema = z
  .object({
    name: z.string(),
    token: z.string().openapi({ description: "Proves ownership; needed to extend or release" }),
    fence: z.number().int().openapi({ description: "Greater than the fence of every earlier grant of this name", example: 1767225600000000 }),
    expiresAt: z.number().int().openapi({ description: "End of the lease, ms since the epoch (Redis clock)", example: 1767225610000 }),
  })
  .openapi("LockLease");

const ExtendBody = z
  .strictObject({
    token: Token,
    ttlMs: TtlMs.openapi({ description: "New lease in ms, counted from now", example: 10_000 }),
  })
  .openapi("LockExtend");

const StatusSchema = z
  .object({
    locked: z.boolean(),
    holders: z.number().int().optional().openapi({ description: "1 for a lock; live holders of a semaphore" }),
    expiresAt: z.number().int().optional().openapi({ description: "End of the (last) lease, ms since the epoch" }),
    fence: z.number().int().optional().openapi({ description: "The holder's fence (semaphore: the highest)" }),
  })
  .openapi("LockStatus");

const acquireRoute = v1Route({
  method: "post",
  path: "/v1/locks/{name}",
  summary: "Acquire a lock or a semaphore place",
  description: "One request to Redis per attempt; with waitMs, retries with backoff and jitter and answers within waitMs plus one request.",
  request: {
    params: NameParams,
    body: optionalJsonBody(AcquireBody),
  },
  responses: {
    201: jsonResponse("Acquired", LeaseSchema),
    ...problems(400, 409),
  },
});

const extendRoute = v1Route({
  method: "post",
  path: "/v1/locks/{name}/extend",
  summary: "Extend a lease you hold",
  request: {
    params: NameParams,
    body: jsonBody(ExtendBody),
  },
  responses: {
    200: jsonResponse("Extended", z.object({ expiresAt: z.number().int() })),
    ...problems(400, 409),
  },
});

const releaseRoute = v1Route({
  method: "delete",
  path: "/v1/locks/{name}",
  summary: "Release a lease you hold",
  request: {
    params: NameParams,
    headers: z.object({ "lock-token": Token.openapi({ param: { name: "lock-token", in: "header" } }) }),
  },
  responses: {
    204: { description: "Released" },
    ...problems(400, 404, 409),
  },
});

const statusRoute = v1Route({
  method: "get",
  path: "/v1/locks/{name}",
  summary: "Whether a lock is held (never reveals the token)",
  request: { params: NameParams },
  responses: {
    200: jsonResponse("State of the lock", StatusSchema),
    ...problems(400),
  },
});

/** `/v1/locks/{name}`: acquire, extend, release and status of token-guarded locks. */
export const lockRoutes = createRouter()
  .openapi(acquireRoute, async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    const result = await locksOf(c).acquire(name, body);
    if (!result.acquired) throw lockHeld(name, result.retryAfterMs);
    const { token, fence, expiresAt } = result;
    return c.json({ name, token, fence, expiresAt }, 201);
  })
  .openapi(extendRoute, async (c) => {
    const { name } = c.req.valid("param");
    const { token, ttlMs } = c.req.valid("json");
    const result = await locksOf(c).extend(name, token, ttlMs);
    if (!result.extended) throw notOwner(name, result.reason);
    return c.json({ expiresAt: result.expiresAt }, 200);
  })
  .openapi(releaseRoute, async (c) => {
    const { name } = c.req.valid("param");
    const token = c.req.valid("header")["lock-token"];
    const result = await locksOf(c).release(name, token);
    if (!result.released) throw result.reason === "not-held" ? lockNotHeld(name) : heldByAnother(name);
    return c.body(null, 204);
  })
  .openapi(statusRoute, async (c) => {
    const { name } = c.req.valid("param");
    return c.json(await locksOf(c).status(name), 200);
  });
