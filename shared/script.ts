import { redisErrorCode } from "./errors";
import { digestHex } from "./hex";
import type { ScriptClient } from "./redis/client";

/**
 * How every feature holds its Lua: a script is a named constant made by {@link defineScript},
 * beside the core that runs it, with its KEYS and ARGV declared by name. The script's source
 * starts with a prelude that binds them, so the body reads `KEY.entry` and `ARG.ttlMs`, never
 * `KEYS[1]` or `ARGV[10]`:
 *
 *     #!lua flags=allow-key-locking
 *     local KEY = { entry = KEYS[1], lease = KEYS[2] }
 *     local ARG = { token = ARGV[1], ttlMs = ARGV[2] }
 *     local KEY_REST = { unpack(KEYS, 3) }   -- only when the script takes more keys
 *     local ARG_REST = { unpack(ARGV, 3) }   -- only when the script takes more arguments
 *
 * Every script passes every key it touches in KEYS and declares Upstash's
 * `allow-key-locking` flag, so Upstash locks only those keys while it runs, not the whole
 * database (the local endpoint enforces the rule as Upstash does: an undeclared key or a
 * database-wide command is an error). {@link Script.call} builds KEYS and ARGV from named
 * values, a pure function that tests check without Redis; {@link Script.run} sends EVALSHA
 * (40 bytes instead of the text) and EVAL only when Redis answers NOSCRIPT.
 */

/** What {@link defineScript} takes. */
export interface ScriptSpec<K extends string, A extends string> {
  /** A short name for logs and tests, e.g. "cache-read". */
  name: string;
  /** Names of the fixed KEYS, in order; the body reads `KEY.<name>`. */
  keys: readonly K[];
  /** Names of the fixed ARGV, in order; the body reads `ARG.<name>` (always a string). */
  args: readonly A[];
  /** Set when more KEYS follow the named ones (the body reads the list `KEY_REST`): what they are. */
  restKeys?: string;
  /** Set when more ARGV follow the named ones (the body reads the list `ARG_REST`): what they are. */
  restArgs?: string;
  /** Lua fragments (functions, constants) placed after the prelude, in order. */
  uses?: readonly string[];
  /** The body. */
  lua: string;
}

/** KEYS and ARGV of one run, as sent. */
export interface ScriptCall {
  keys: string[];
  args: string[];
}

/** The variable parts of a call beyond the named ones. */
export interface Rest {
  keys?: readonly string[];
  args?: ReadonlyArray<string | number>;
}

/** A Lua script with named KEYS and ARGV. Made by {@link defineScript}. */
export class Script<K extends string, A extends string, R> {
  /** The full text sent with EVAL, prelude included. */
  readonly source: string;
  readonly #spec: ScriptSpec<K, A>;
  #sha: Promise<string> | undefined;

  constructor(spec: ScriptSpec<K, A>) {
    this.#spec = spec;
    this.source = [prelude(spec), ...(spec.uses ?? []), spec.lua].join("\n");
  }

  get name(): string {
    return this.#spec.name;
  }

  /** SHA1 of the source, as Redis computes it for EVALSHA. */
  sha1(): Promise<string> {
    this.#sha ??= digestHex("SHA-1", this.source);
    return this.#sha;
  }

  /**
   * KEYS and ARGV from named values (pure). Throws a TypeError for a missing name, or rest
   * values the script does not declare: a programming error, caught by the first test.
   */
  call(keys: Readonly<Record<K, string>>, args: Readonly<Record<A, string | number>>, rest: Rest = {}): ScriptCall {
    const spec = this.#spec;
    if ((rest.keys?.length ?? 0) > 0 && !spec.restKeys) throw new TypeError(`${spec.name} takes no more keys`);
    if ((rest.args?.length ?? 0) > 0 && !spec.restArgs) throw new TypeError(`${spec.name} takes no more arguments`);
    const named = <N extends string>(names: readonly N[], values: Readonly<Record<N, string | number>>, what: string) =>
      names.map((name) => {
        const value = values[name];
        if (value === undefined) throw new TypeError(`${spec.name}: ${what} "${name}" is missing`);
        return String(value);
      });
    return {
      keys: [...named(spec.keys, keys, "key"), ...(rest.keys ?? [])],
      args: [...named(spec.args, args, "argument"), ...(rest.args ?? []).map(String)],
    };
  }

  /** Runs the script: EVALSHA, then EVAL only when Redis does not know it (one request either way in steady state). */
  async run(redis: ScriptClient, call: ScriptCall): Promise<R> {
    try {
      return (await redis.evalsha(await this.sha1(), call.keys, call.args)) as R;
    } catch (error) {
      if (redisErrorCode(error) !== "NOSCRIPT") throw error;
      return (await redis.eval(this.source, call.keys, call.args)) as R;
    }
  }
}

/**
 * A script with named KEYS and ARGV; `R` is the shape of its reply.
 * @example
 * const INCR_TO = defineScript<"counter", "by", number>({
 *   name: "incr-to", keys: ["counter"], args: ["by"],
 *   lua: `return redis.call("INCRBY", KEY.counter, ARG.by)`,
 * });
 * await INCR_TO.run(redis, INCR_TO.call({ counter: "c" }, { by: 5 }));
 */
export function defineScript<K extends string, A extends string, R>(spec: ScriptSpec<K, A>): Script<K, A, R> {
  return new Script<K, A, R>(spec);
}

const LUA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function prelude<K extends string, A extends string>(spec: ScriptSpec<K, A>): string {
  for (const name of [...spec.keys, ...spec.args]) {
    if (!LUA_NAME.test(name)) throw new TypeError(`${spec.name}: "${name}" is not a Lua name`);
  }
  const table = (names: readonly string[], source: string) =>
    `{ ${names.map((name, i) => `${name} = ${source}[${i + 1}]`).join(", ")} }`;
  const lines = [
    "#!lua flags=allow-key-locking",
    `local KEY = ${table(spec.keys, "KEYS")}`,
    `local ARG = ${table(spec.args, "ARGV")}`,
  ];
  if (spec.restKeys) lines.push(`local KEY_REST = { unpack(KEYS, ${spec.keys.length + 1}) } -- ${oneLine(spec.restKeys)}`);
  if (spec.restArgs) lines.push(`local ARG_REST = { unpack(ARGV, ${spec.args.length + 1}) } -- ${oneLine(spec.restArgs)}`);
  return lines.join("\n");
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ");
}
