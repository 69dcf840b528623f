import { digestHex } from "./hex";
import type { ScriptClient } from "./redis-client";

/**
 * A Lua script run through EVALSHA, falling back to EVAL when Redis answers NOSCRIPT (after a
 * SCRIPT FLUSH, a failover, or on first use). In steady state that is one REST request
 * carrying only the 40-byte SHA1, not the script text.
 *
 * Keep each script as a named constant beside the code that runs it, with every KEYS[i] and
 * ARGV[i] commented; `test/worker/scripts.test.ts` pins each SHA1 so an edit is never silent.
 *
 * @example
 * const INCR_TO = new LuaScript("incr-to", `return redis.call("INCRBY", KEYS[1], ARGV[1])`);
 * const n = await INCR_TO.run(redis, ["counter"], [5]);
 */
export class LuaScript<TResult = unknown> {
  #sha: Promise<string> | undefined;

  constructor(
    /** A short name for logs and tests. */
    readonly name: string,
    /** The Lua source. */
    readonly source: string,
  ) {}

  /** SHA1 of the source, as Redis computes it for EVALSHA. */
  sha1(): Promise<string> {
    this.#sha ??= digestHex("SHA-1", this.source);
    return this.#sha;
  }

  /** Runs the script: EVALSHA, then EVAL only if Redis does not know the script. */
  async run(redis: ScriptClient, keys: string[], args: Array<string | number>): Promise<TResult> {
    const argv = args.map(String);
    try {
      return (await redis.evalsha(await this.sha1(), keys, argv)) as TResult;
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return (await redis.eval(this.source, keys, argv)) as TResult;
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes("NOSCRIPT");
}
