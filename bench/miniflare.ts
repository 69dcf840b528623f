import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { parse as parseToml } from "smol-toml";
import { childrenOf } from "../local/process-table";

const run = promisify(execFile);

/** A Worker bundle built as `wrangler deploy` builds it, and the config it came from. */
export interface Bundle {
  scriptPath: string;
  dir: string;
  config: WranglerConfig;
  /** wrangler's size line, e.g. "Total Upload: 1363.99 KiB / gzip: 251.35 KiB". */
  size: string;
  /** Removes the bundle's directory. */
  remove(): void;
}

/** The parts of wrangler.toml that bare Miniflare needs to be told. */
interface WranglerConfig {
  compatibility_date: string;
  compatibility_flags?: string[];
  vars?: Record<string, string>;
  ratelimits?: Array<{ name: string; simple: { limit: number; period: 10 | 60 } }>;
}

/**
 * Builds the Worker with `wrangler deploy --dry-run --outdir`: the bundle that would be
 * deployed, without wrangler dev's proxy, watcher and middleware around it.
 */
export async function buildBundle(root: string, config = "wrangler.toml"): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), "erf-bundle-"));
  const { stdout } = await run("npx", ["wrangler", "deploy", "--dry-run", "--config", config, "--outdir", dir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", NO_COLOR: "1" },
    timeout: 120_000,
  });
  return {
    scriptPath: join(dir, "index.js"),
    dir,
    config: parseToml(readFileSync(join(root, config), "utf8")) as unknown as WranglerConfig,
    size: /Total Upload: .*/.exec(stdout)?.[0] ?? "",
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A Worker served by bare Miniflare (one workerd, child of this process). */
export interface MiniflareWorker {
  /** Where it answers, e.g. http://127.0.0.1:40123 */
  url: string;
  /** workerd's process id, so its memory can be read (null where /proc cannot tell). */
  pid: number | null;
  /** The V8 inspector's address, when started with `inspect`. */
  inspectorUrl: URL | null;
  /** The Miniflare instance, for `dispatchFetch` and `getWorker().scheduled()`. */
  miniflare: Miniflare;
  dispose(): Promise<void>;
}

/**
 * Serves `bundle` with its config's vars, compatibility and rate-limiting bindings, plus `vars`
 * (which win), on a free loopback port. With `script`, serves that module instead (a baseline).
 */
export async function startMiniflareWorker(opts: {
  bundle: Bundle;
  vars: Record<string, string>;
  script?: string;
  /** Open the V8 inspector on a free loopback port. */
  inspect?: boolean;
  /** Receives what the Worker prints (its console), instead of this process's stdout/stderr. */
  onOutput?: (text: string) => void;
}): Promise<MiniflareWorker> {
  const onOutput = opts.onOutput;
  const { config } = opts.bundle;
  const before = new Set(workerdChildren());
  const mf = new Miniflare({
    ...(opts.script === undefined
      ? { scriptPath: opts.bundle.scriptPath, modulesRoot: opts.bundle.dir }
      : { script: opts.script }),
    modules: true,
    host: "127.0.0.1",
    port: 0,
    ...(opts.inspect ? { inspectorPort: 0 } : {}),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    ratelimits: Object.fromEntries((config.ratelimits ?? []).map((r) => [r.name, { simple: r.simple }])),
    bindings: { ...config.vars, ...opts.vars },
    ...(onOutput
      ? {
          handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
            for (const stream of [stdout, stderr]) stream.on("data", (chunk: Buffer) => onOutput(chunk.toString("utf8")));
          },
        }
      : {}),
  });
  const url = await mf.ready;
  const pid = workerdChildren().find((p) => !before.has(p)) ?? null;
  const inspectorUrl = opts.inspect ? await mf.getInspectorURL() : null;
  return { url: url.origin, pid, inspectorUrl, miniflare: mf, dispose: () => mf.dispose() };
}

/** The workerd processes this process started. */
function workerdChildren(): number[] {
  return childrenOf(process.pid)
    .filter((p) => p.comm === "workerd")
    .map((p) => p.pid);
}
