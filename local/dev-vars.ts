import { existsSync, readFileSync } from "node:fs";

/**
 * Reads a `.dev.vars` file (dotenv syntax: `KEY=value`, `# comments`, optional quotes) into a
 * map. A missing file is an empty map.
 */
export function readDevVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!match) continue;
    const [, key, raw = ""] = match;
    vars[key!] = unquote(raw.trim());
  }
  return vars;
}

function unquote(value: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(value);
  if (quoted) return quoted[1] === '"' ? quoted[2]!.replace(/\\n/g, "\n") : quoted[2]!;
  const hash = value.indexOf(" #");
  return hash >= 0 ? value.slice(0, hash).trim() : value;
}
