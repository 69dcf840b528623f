/**
 * Makes Upstash-flavoured Lua scripts acceptable to a stock Redis.
 *
 * `@upstash/ratelimit` scripts begin with `#!lua flags=allow-key-locking`, a flag only Upstash
 * knows; Redis refuses the whole script. The flag is removed before Redis sees the script, which
 * changes its SHA1, so the registry remembers which SHA1 the client computed (of the text it
 * sent) and which one Redis knows (of the rewritten text), and translates between them.
 */
import { createHash } from "node:crypto";
import type { RawReply } from "./encoding";
import { guardCalls } from "./key-locking";

/** Script flags that exist only on Upstash and are dropped before a script reaches Redis. */
export const UPSTASH_ONLY_SCRIPT_FLAGS: ReadonlySet<string> = new Set(["allow-key-locking"]);

/** SHA1 of a script as Redis and the Upstash clients compute it: hex of the UTF-8 bytes. */
export function scriptSha1(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/**
 * Removes Upstash-only flags from a script's `#!lua` line.
 * A shebang left with nothing but `#!lua` becomes an empty line, so line numbers in Redis's
 * error messages still match the client's text.
 * @returns the rewritten text, or null when the script needs no change
 * @example rewriteScript("#!lua flags=allow-key-locking\nreturn 1") // "\nreturn 1"
 */
export function rewriteScript(text: string): string | null {
  if (!text.startsWith("#!")) return null;
  const newline = text.indexOf("\n");
  const firstLine = newline === -1 ? text : text.slice(0, newline);
  const rest = newline === -1 ? "" : text.slice(newline);
  // A CRLF script keeps its "\r" with the shebang line.
  const carriageReturn = firstLine.endsWith("\r") ? "\r" : "";
  const tokens = firstLine.slice(0, firstLine.length - carriageReturn.length).split(" ").filter(Boolean);

  let changed = false;
  const kept: string[] = [];
  for (const token of tokens) {
    if (!token.startsWith("flags=")) {
      kept.push(token);
      continue;
    }
    const flags = token.slice("flags=".length).split(",").filter(Boolean);
    const remaining = flags.filter((flag) => !UPSTASH_ONLY_SCRIPT_FLAGS.has(flag));
    if (remaining.length !== flags.length) changed = true;
    if (remaining.length > 0) kept.push(`flags=${remaining.join(",")}`);
  }
  if (!changed) return null;
  const shebang = kept.length === 1 && kept[0] === "#!lua" ? "" : kept.join(" ");
  return shebang + carriageReturn + rest;
}

/** A command ready for Redis, and how to turn Redis's reply back into what the client expects. */
export interface PreparedCommand {
  args: string[];
  adaptReply(reply: RawReply): RawReply;
}

const unchanged = (reply: RawReply): RawReply => reply;

/**
 * Rewrites script commands and keeps the client-SHA1 → Redis-SHA1 map. One registry per
 * endpoint: the map must outlive requests, since a client sends EVAL once and EVALSHA after.
 */
export class ScriptRegistry {
  private readonly redisShaByClientSha = new Map<string, string>();

  /**
   * @param keyLockingGuard Lua from `keyLockingGuard()`: when given, a script declaring
   *   `allow-key-locking` also gets Upstash's rule enforced (every key it touches must be in
   *   KEYS, no database-wide command); without it the flag is only removed.
   */
  constructor(private readonly keyLockingGuard?: string) {}

  /** Number of scripts whose SHA1 is translated. */
  get size(): number {
    return this.redisShaByClientSha.size;
  }

  /**
   * Prepares one command: EVAL, EVAL_RO and SCRIPT LOAD get their script rewritten (and the
   * SHA1 pair recorded); EVALSHA, EVALSHA_RO and SCRIPT EXISTS get client SHA1s translated;
   * SCRIPT LOAD answers with the client's SHA1; SCRIPT FLUSH forgets the map. Anything else
   * passes through untouched.
   */
  prepare(args: readonly string[]): PreparedCommand {
    const name = (args[0] ?? "").toUpperCase();
    const out = [...args];
    if ((name === "EVAL" || name === "EVAL_RO") && out[1] !== undefined) {
      out[1] = this.rewriteAndRecord(out[1]).text;
      return { args: out, adaptReply: unchanged };
    }
    if ((name === "EVALSHA" || name === "EVALSHA_RO") && out[1] !== undefined) {
      out[1] = this.toRedisSha(out[1]);
      return { args: out, adaptReply: unchanged };
    }
    if (name !== "SCRIPT") return { args: out, adaptReply: unchanged };

    const sub = (out[1] ?? "").toUpperCase();
    if (sub === "LOAD" && out[2] !== undefined) {
      const { text, clientSha } = this.rewriteAndRecord(out[2]);
      out[2] = text;
      // Redis answers with the SHA1 of what it loaded; the client will call EVALSHA with its own.
      return { args: out, adaptReply: (reply) => (Buffer.isBuffer(reply) ? Buffer.from(clientSha) : reply) };
    }
    if (sub === "EXISTS") {
      for (let i = 2; i < out.length; i++) out[i] = this.toRedisSha(out[i] ?? "");
      return { args: out, adaptReply: unchanged };
    }
    if (sub === "FLUSH") {
      return {
        args: out,
        adaptReply: (reply) => {
          if (!(reply instanceof Error)) this.redisShaByClientSha.clear();
          return reply;
        },
      };
    }
    return { args: out, adaptReply: unchanged };
  }

  private rewriteAndRecord(original: string): { text: string; clientSha: string } {
    const clientSha = scriptSha1(original);
    let rewritten = rewriteScript(original);
    if (rewritten === null) return { text: original, clientSha };
    // Only allow-key-locking is ever removed, so a rewritten script is one that declared it.
    if (this.keyLockingGuard) rewritten = withGuard(rewritten, this.keyLockingGuard);
    this.redisShaByClientSha.set(clientSha, scriptSha1(rewritten));
    return { text: rewritten, clientSha };
  }

  private toRedisSha(sha: string): string {
    return this.redisShaByClientSha.get(sha.toLowerCase()) ?? sha;
  }
}

/**
 * Places the guard on the script's first line when its shebang was emptied (line numbers stay
 * as the client wrote them), else on a line of its own after the shebang that remains.
 */
function withGuard(rewritten: string, guard: string): string {
  const newline = rewritten.indexOf("\n");
  const firstLine = newline === -1 ? rewritten : rewritten.slice(0, newline);
  const rest = newline === -1 ? "" : rewritten.slice(newline);
  if (firstLine.replace("\r", "") === "") return firstLine.replace("\r", "") + guard + (firstLine.endsWith("\r") ? "\r" : "") + guardCalls(rest);
  return `${firstLine}\n${guard}${guardCalls(rest)}`;
}
