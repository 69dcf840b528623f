/**
 * Upstash's `allow-key-locking` rule, enforced locally.
 *
 * On Upstash a script whose shebang declares `flags=allow-key-locking` locks only the keys in
 * its KEYS instead of the whole database, so it must touch no other key, and database-wide
 * commands (KEYS, SCAN, FLUSHDB, ...) are refused. A stock Redis knows neither the flag nor the
 * rule, so the endpoint rewrites such a script: every `redis.call`/`redis.pcall` goes through a
 * guard that checks the command's key arguments against KEYS, using the key positions Redis
 * reports in `COMMAND`. A script that breaks the rule fails here as it would in production.
 */
import type { Redis } from "ioredis";

/** Where a command's keys are, from `COMMAND` (positions count the command name as 0). */
export interface KeySpec {
  first: number;
  /** Negative: counted from the end (-1 is the last argument). */
  last: number;
  step: number;
  /** For commands whose keys follow a count: the position of that count. */
  numkeysAt?: number;
  /** Refused: touches the whole database, or has keys this guard cannot locate. */
  refused?: "database-wide" | "movable-keys";
}

/** Commands whose keys come after a `numkeys` argument at this position. */
const NUMKEYS_AT: Record<string, number> = {
  zunionstore: 2, zinterstore: 2, zdiffstore: 2,
  zunion: 1, zinter: 1, zdiff: 1, zintercard: 1, sintercard: 1, lmpop: 1, zmpop: 1,
};

/** ACL categories that make a keyless command database-wide. */
const WIDE_CATEGORIES = new Set(["@keyspace", "@dangerous", "@admin"]);

/**
 * Reads the key positions of every command from Redis (`COMMAND`).
 * @returns lower-case command name → where its keys are
 */
export async function loadKeySpecs(conn: Redis): Promise<Map<string, KeySpec>> {
  const reply = (await conn.call("COMMAND")) as unknown[][];
  const specs = new Map<string, KeySpec>();
  for (const entry of reply) {
    const [name, , flags, first, last, step, categories] = entry as [string, number, string[], number, number, number, string[]];
    const lower = name.toLowerCase();
    const spec: KeySpec = { first, last, step };
    const numkeysAt = NUMKEYS_AT[lower];
    if (numkeysAt !== undefined) spec.numkeysAt = numkeysAt;
    else if (flags.includes("movablekeys")) spec.refused = "movable-keys";
    else if (first === 0 && (categories ?? []).some((c) => WIDE_CATEGORIES.has(c))) spec.refused = "database-wide";
    specs.set(lower, spec);
  }
  return specs;
}

/**
 * The Lua that defines `__key_locked_call` and `__key_locked_pcall` for `specs`. It is written
 * on one line, so that placed on a script's (emptied) first line it leaves every other line
 * number unchanged in Redis's error messages.
 */
export function keyLockingGuard(specs: ReadonlyMap<string, KeySpec>): string {
  const entries = [...specs].map(([name, s]) => {
    const refused = s.refused ? `,r=${JSON.stringify(s.refused)}` : "";
    const numkeys = s.numkeysAt !== undefined ? `,n=${s.numkeysAt}` : "";
    return `[${JSON.stringify(name)}]={${s.first},${s.last},${s.step}${numkeys}${refused}}`;
  });
  return [
    `local __KS={${entries.join(",")}}`,
    "local __DECLARED={} for _,k in ipairs(KEYS) do __DECLARED[k]=true end",
    "local function __undeclared(name,...)",
    " local cmd=string.lower(tostring(name)) local s=__KS[cmd]",
    " if s==nil then return nil end",
    " if s.r=='database-wide' then return 'ERR '..cmd..' touches the whole database and is refused in a script with allow-key-locking' end",
    " if s.r then return 'ERR '..cmd..' has keys the local endpoint cannot check in a script with allow-key-locking' end",
    " local a={...} local n=#a local function chk(i) local k=a[i] if k~=nil and not __DECLARED[tostring(k)] then return 'ERR script accessed key \"'..tostring(k)..'\" that is not in KEYS (allow-key-locking)' end end",
    " if s[1]>0 then local last=s[2] if last<0 then last=n+1+last end for i=s[1],last,s[3] do local e=chk(i) if e then return e end end end",
    " if s.n then local c=tonumber(a[s.n]) or 0 for i=s.n+1,s.n+c do local e=chk(i) if e then return e end end end",
    " return nil",
    "end",
    "local __call,__pcall=redis.call,redis.pcall",
    "local function __kl(...) local e=__undeclared(...) if e then error(e, 2) end return ... end",
    "local function __key_locked_call(...) local e=__undeclared(...) if e then error(e, 2) end return __call(...) end",
    "local function __key_locked_pcall(...) local e=__undeclared(...) if e then return redis.error_reply(e) end return __pcall(...) end",
  ].join(" ");
}

/**
 * Routes a script's calls through the guard without moving any line: `redis.call(args)`
 * becomes `redis.call(__kl(args))` (the check returns its arguments, so Redis still sees the
 * call on the script's own line and reports that line in errors), `redis.pcall(` becomes
 * `__key_locked_pcall(`, and a bare reference (`local call = redis.call`) the guarded wrapper.
 * Strings and comments are skipped, so text that merely mentions redis.call is left alone.
 */
export function guardCalls(body: string): string {
  let out = "";
  let i = 0;
  const closers: boolean[] = []; // one per open "(": true when it opened a guarded redis.call
  const call = /^redis\s*\.\s*(p?call)\b(\s*\()?/;
  while (i < body.length) {
    const ch = body[i]!;
    const skipped = skipStringOrComment(body, i);
    if (skipped > i) {
      out += body.slice(i, skipped);
      i = skipped;
      continue;
    }
    const previous = i > 0 ? body[i - 1]! : " ";
    const match = /[A-Za-z0-9_.]/.test(previous) ? null : call.exec(body.slice(i, i + 40));
    if (match) {
      const [text, fn, paren] = match;
      if (fn === "call" && paren) {
        out += `${text}__kl(`;
        closers.push(true);
      } else {
        out += `__key_locked_${fn}${paren ?? ""}`;
        if (paren) closers.push(false);
      }
      i += text.length;
      continue;
    }
    if (ch === "(") closers.push(false);
    if (ch === ")" && closers.pop()) out += ")";
    out += ch;
    i++;
  }
  return out;
}

/** The index after a Lua string or comment starting at `i`, or `i` when none starts there. */
function skipStringOrComment(text: string, i: number): number {
  const ch = text[i];
  if (ch === "-" && text[i + 1] === "-") {
    const long = /^--\[(=*)\[/.exec(text.slice(i, i + 64));
    if (long) return endOf(text, i + long[0].length, `]${long[1]}]`);
    const newline = text.indexOf("\n", i);
    return newline === -1 ? text.length : newline;
  }
  if (ch === "[") {
    const long = /^\[(=*)\[/.exec(text.slice(i, i + 64));
    if (long) return endOf(text, i + long[0].length, `]${long[1]}]`);
  }
  if (ch === '"' || ch === "'") {
    let j = i + 1;
    while (j < text.length && text[j] !== ch) j += text[j] === "\\" ? 2 : 1;
    return Math.min(text.length, j + 1);
  }
  return i;
}

function endOf(text: string, from: number, close: string): number {
  const end = text.indexOf(close, from);
  return end === -1 ? text.length : end + close.length;
}
