import { createExecutionContext, env } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../functions/index";
import { testRedis } from "./helpers";

/** Helpers of the rate-limiting tests that call the Worker. */

/** Calls the Worker with `overrides` on its env, and the bearer token unless `Authorization` is given. */
export async function callWorker(path: string, init: RequestInit = {}, overrides: Partial<Cloudflare.Env> = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("Authorization")) headers.set("Authorization", `Bearer ${env.API_TOKEN}`);
  if (init.body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  const request = new Request(`http://worker.test${path}`, { ...init, headers });
  return await worker.fetch(request, { ...env, ...overrides }, createExecutionContext());
}

/** The problem+json body of `res`, checked for its shape. */
export async function problem(res: Response) {
  expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  const body = await res.json<{ type: string; status: number; detail: string } & Record<string, unknown>>();
  expect(body.status).toBe(res.status);
  return body;
}

/**
 * A strict parser of a subset of RFC 8941 structured-field Lists, enough to check the
 * RateLimit headers: items and parameter values may be integers, decimals, strings or booleans
 * (no tokens, which the draft does not use for names; no inner lists, no byte sequences).
 * Anything outside that grammar throws.
 */
export type BareItem = number | string | boolean;
export interface Item {
  value: BareItem;
  params: Record<string, BareItem>;
}

export function parseList(input: string): Item[] {
  let i = 0;
  const text = input.replace(/^ +| +$/g, "");
  const fail = (what: string): never => {
    throw new SyntaxError(`structured field: ${what} at ${i} in ${JSON.stringify(input)}`);
  };
  const bareItem = (): BareItem => {
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^-?\d{1,12}\.\d{1,3}(?![\d.])/.exec(rest))) {
      i += m[0].length;
      return Number(m[0]);
    }
    if ((m = /^-?\d{1,15}(?![\d.])/.exec(rest))) {
      i += m[0].length;
      return Number(m[0]);
    }
    if (rest.startsWith('"')) {
      let out = "";
      for (i++; i < text.length; i++) {
        const ch = text[i]!;
        if (ch === "\\") {
          const next = text[++i];
          if (next !== '"' && next !== "\\") fail("bad escape");
          out += next;
        } else if (ch === '"') {
          i++;
          return out;
        } else if (ch < " " || ch > "~") {
          fail("non-printable character in string");
        } else out += ch;
      }
      return fail("unterminated string");
    }
    if ((m = /^\?[01]/.exec(rest))) {
      i += 2;
      return m[0] === "?1";
    }
    return fail("expected an item");
  };
  const items: Item[] = [];
  if (text === "") return items;
  for (;;) {
    const value = bareItem();
    const params: Record<string, BareItem> = {};
    while (text[i] === ";") {
      i++;
      while (text[i] === " ") i++;
      const key = /^[a-z*][a-z0-9_\-.*]*/.exec(text.slice(i))?.[0] ?? fail("expected a key");
      i += key.length;
      if (text[i] === "=") {
        i++;
        params[key] = bareItem();
      } else params[key] = true;
    }
    items.push({ value, params });
    while (text[i] === " " || text[i] === "\t") i++;
    if (i === text.length) return items;
    if (text[i] !== ",") fail("expected ','");
    i++;
    while (text[i] === " " || text[i] === "\t") i++;
    if (i === text.length) fail("trailing ','");
  }
}

/** Every key matching `pattern`: SCAN until the cursor comes back to 0 (one call sees only a slice). */
export async function scanAll(pattern: string): Promise<string[]> {
  const redis = testRedis();
  const keys: string[] = [];
  let cursor: string | number = 0;
  do {
    const [next, batch]: [string | number, string[]] = await redis.scan(cursor, { match: pattern, count: 1000 });
    keys.push(...batch);
    cursor = next;
  } while (String(cursor) !== "0");
  return keys;
}
