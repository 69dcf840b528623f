import { BoundedMap } from "../../shared/bounded-map";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { digestHex } from "../../shared/hex";
import type { RateLimitBinding } from "../env";
import type { AppEnv } from "./app-env";
import { ConfigError } from "./config";
import { ApiProblem } from "./problem";
import { sfString } from "../ratelimit/headers";
import { rateLimited } from "../ratelimit/problems";

/**
 * API protection that costs no Upstash request: Cloudflare's Workers Rate Limiting binding
 * (`[[ratelimits]]` in wrangler.toml; `env.NAME.limit({ key })` answers `{ success }`),
 * counted by Cloudflare per location, eventually consistent: abuse protection, not an exact
 * quota. Which requests a binding guards, and under which key, is decided by the caller
 * (`functions/ratelimit/middleware.ts`, from RATE_POLICIES); this file holds the mechanics:
 * keys (a hash of the API token, a client IP or its IPv6 /64), the binding call, the 429, and
 * the guard against token guessing (failed authentications counted per IP).
 *
 * The binding cannot report its limit, its period or what is left, so the Worker is told them
 * (RATE_POLICIES `middleware`, defaults equal to wrangler.toml) and sends only what is true:
 * `RateLimit-Policy: "<name>";q=<limit>;w=<period>` and, on a 429, `Retry-After: <period>`
 * (a window of the binding has surely passed by then). No `RateLimit` header: nothing is known
 * of what is left.
 */

/** A rate-limiting binding as configured: where it is in `env`, and its limit and period as declared. */
export interface BindingLimit {
  /** The policy's name in headers and problems, e.g. "api". */
  name: string;
  /** The binding's name in `env` (`name` of its `[[ratelimits]]` entry), e.g. "API_LIMITER". */
  binding: string;
  /** `simple.limit` of the binding: requests per period and key. */
  limit: number;
  /** `simple.period` of the binding, in seconds: 10 or 60. */
  period: 10 | 60;
}

/**
 * The binding named `limit.binding` in `env`.
 * @throws ConfigError naming the binding when it is not bound: declare it in wrangler.toml or
 * change RATE_POLICIES `middleware` (500 `misconfigured`, never an unprotected API by accident)
 */
export function bindingOf(env: AppEnv["Bindings"], limit: BindingLimit): RateLimitBinding {
  const binding = (env as unknown as Record<string, unknown>)[limit.binding] as Partial<RateLimitBinding> | undefined;
  if (typeof binding?.limit !== "function") {
    throw new ConfigError(
      limit.binding,
      'is not bound: declare it under [[ratelimits]] in wrangler.toml, or set RATE_POLICIES "middleware" otherwise (docs/rate-limiting.md)',
    );
  }
  return binding as RateLimitBinding;
}

/** Counts one request under `key`; false when the key is over the binding's limit. */
export async function underLimit(env: AppEnv["Bindings"], limit: BindingLimit, key: string): Promise<boolean> {
  return (await bindingOf(env, limit).limit({ key })).success;
}

/** `RateLimit-Policy` items of these limits (RFC 8941 list): `"api";q=10000;w=10`. */
export function bindingPolicyHeader(limits: readonly BindingLimit[]): string {
  return limits.map((l) => `${sfString(l.name)};q=${l.limit};w=${l.period}`).join(", ");
}

/** The 429 of a binding: its policy header, `Retry-After` one period. */
export function bindingLimited(limit: BindingLimit): ApiProblem {
  return rateLimited(limit.name, limit.period * 1000, {}, { "RateLimit-Policy": bindingPolicyHeader([limit]) });
}

/** The client's address as Cloudflare reports it (`CF-Connecting-IP`, which a client cannot set); undefined without it. */
export function clientIp(c: Context<AppEnv>): string | undefined {
  return c.req.header("CF-Connecting-IP") || undefined;
}

/**
 * The key of a client address: `ip:<IPv4>`, or `ip6:<first 64 bits>::/64` for IPv6 (one
 * client usually holds a whole /64, so keying by the full address would give it 2^64 keys).
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is its IPv4 address; a zone id (`fe80::1%eth0`) and
 * brackets are dropped; hex is lower-cased and written without leading zeros. Anything that is
 * not an address is kept as it is (at most 64 characters).
 *
 * @example ipKey("2001:DB8:0:0:1::7") // "ip6:2001:db8:0:0::/64"
 * @example ipKey("::ffff:192.0.2.1") // "ip:192.0.2.1"
 */
export function ipKey(address: string): string {
  let text = address.trim();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (!text.includes(":")) return `ip:${text.slice(0, 64)}`;
  const groups = ipv6Groups(text);
  if (!groups) return `ip:${text.toLowerCase().slice(0, 64)}`;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `ip:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `ip6:${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing dotted IPv4 as two groups), or null. */
function ipv6Groups(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const octets = piece.split(".");
        if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) return null;
        const [a, b, c, d] = octets.map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16));
      } else return null;
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

const tokenHashes = new Map<string, string>();

/** `token:<first 128 bits of the token's SHA-256, hex>`: the token itself never becomes a key. */
export async function tokenKey(token: string): Promise<string> {
  let hash = tokenHashes.get(token);
  if (hash === undefined) {
    hash = (await digestHex("SHA-256", token)).slice(0, 32);
    if (tokenHashes.size >= 16) tokenHashes.clear(); // a handful of tokens at most; stay bounded
    tokenHashes.set(token, hash);
  }
  return `token:${hash}`;
}

/** The bearer token of the request, if it sent one. */
export function bearerToken(c: Context<AppEnv>): string | undefined {
  return /^Bearer\s+(\S+)/i.exec(c.req.header("Authorization") ?? "")?.[1];
}

/**
 * Clients this isolate knows to be blocked, until a local time: bounded, least recently
 * blocked dropped first. Isolate state: each isolate has its own.
 */
export class LocalBlocks {
  readonly #until: BoundedMap<string, number>;
  constructor(readonly maxEntries = 10_000) {
    this.#until = new BoundedMap(maxEntries);
  }

  block(key: string, untilMs: number): void {
    this.#until.set(key, untilMs);
  }

  /** Milliseconds `key` stays blocked at local time `nowMs`; 0 when it is not blocked here. */
  blockedFor(key: string, nowMs: number): number {
    const until = this.#until.get(key);
    if (until === undefined) return 0;
    if (until <= nowMs) {
      this.#until.delete(key);
      return 0;
    }
    return until - nowMs;
  }
}

/** The isolate's memory of client addresses over the failed-authentication limit. */
export const authFailureBlocks = new LocalBlocks();

/**
 * Limits token guessing: wraps bearer authentication (register it just before), counts every
 * 401 per client address with the binding `limitOf(c)` (null: off), and once an address is
 * over the limit answers 429 instead:
 * - the attempt that went over gets 429 (`Retry-After`: the binding's period);
 * - this isolate then remembers the address for one period and answers every `/v1` request
 *   from it 429 before looking at the token, even a correct one, so a guess that would have
 *   been right tells nothing;
 * - another isolate learns the block at that address's next failed attempt (the binding
 *   counts across isolates): after the limit, each isolate gives at most one more verdict.
 * Requests without `CF-Connecting-IP` (local tests) are not counted.
 */
export function guardAuthFailures(limitOf: (c: Context<AppEnv>) => BindingLimit | null, blocks: LocalBlocks = authFailureBlocks) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const limit = limitOf(c);
    const ip = clientIp(c);
    if (!limit || ip === undefined) return next();
    const key = ipKey(ip);
    const blockKey = `${limit.binding}:${key}`;
    const blockedMs = blocks.blockedFor(blockKey, Date.now());
    if (blockedMs > 0) throw rateLimited(limit.name, blockedMs, {}, { "RateLimit-Policy": bindingPolicyHeader([limit]) });
    await next();
    if (c.res.status !== 401 || (await underLimit(c.env, limit, key))) return;
    blocks.block(blockKey, Date.now() + limit.period * 1000);
    // Drop the 401 (and its WWW-Authenticate) before setting the 429: Hono's setter would merge their headers.
    c.res = undefined as unknown as Response;
    c.res = bindingLimited(limit).getResponse();
  });
}
