import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The Worker variables for `wrangler dev`, in a file only this user can read, passed with
 * `--env-file`: unlike `--var NAME:value`, nothing of it shows in `ps` or `/proc/<pid>/cmdline`.
 * The file lives in a fresh 0700 directory under `parent` (the project's git-ignored
 * `.wrangler/`), is 0600 itself, and is removed by `remove()` (and, as a last resort, when this
 * process exits).
 */
export interface WranglerEnvFile {
  path: string;
  /** The private directory holding it. */
  dir: string;
  remove(): void;
}

/** Writes `vars` to a private temporary env file in a new directory under `parent`. */
export function writeWranglerEnvFile(parent: string, vars: Record<string, string>): WranglerEnvFile {
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "dev-vars-")); // mkdtemp makes it 0700
  const path = join(dir, "vars.env");
  writeFileSync(path, formatEnvFile(vars), { mode: 0o600 });
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  return {
    path,
    dir,
    remove: () => {
      process.off("exit", remove);
      remove();
    },
  };
}

/**
 * Formats variables the way wrangler reads `--env-file` files back exactly (dotenv, then
 * dotenv-expand): each value single-quoted (kept literally, newlines included) or, when it
 * holds a single quote, in backticks; every `$` escaped, since dotenv-expand would otherwise
 * substitute `$NAME`.
 *
 * @throws Error naming the variable when a value holds both quote kinds.
 * @example formatEnvFile({ A: "x$y" }) // "A='x\\$y'\n"
 */
export function formatEnvFile(vars: Record<string, string>): string {
  let text = "";
  for (const [name, value] of Object.entries(vars)) {
    const escaped = value.replace(/\$/g, "\\$");
    const quote = !value.includes("'") ? "'" : !value.includes("`") ? "`" : undefined;
    if (!quote) throw new Error(`${name} holds both ' and \`, which wrangler's env-file format cannot carry`);
    text += `${name}=${quote}${escaped}${quote}\n`;
  }
  return text;
}
