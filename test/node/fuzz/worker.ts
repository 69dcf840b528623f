/**
 * The Worker under fuzzing: the production bundle (built by wrangler as `wrangler deploy`
 * builds it) run by Miniflare on a real loopback port, with wrangler.toml's vars and
 * rate-limiting bindings, against a private Redis behind the local endpoint and a programmable
 * origin for the proxy. Real HTTP, so hostile paths reach workerd exactly as sent.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { parse as parseToml } from "smol-toml";
import { startLocalStack, type LocalStack } from "../local-stack";
import { repoRoot } from "../processes";
import { startFuzzOrigin, type FuzzOrigin } from "./origin";

const run = promisify(execFile);

/** A running Worker and everything it talks to, stopped together. */
export interface FuzzWorker {
  /** Base URL of the Worker, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The API token the Worker accepts. */
  token: string;
  stack: LocalStack;
  origin: FuzzOrigin;
  /** The Worker's REDIS_TIMEOUT_MS and REDIS_RETRIES, as configured. */
  redisTimeoutMs: number;
  redisRetries: number;
  stop(): Promise<void>;
}

interface WranglerConfig {
  compatibility_date: string;
  compatibility_flags: string[];
  vars: Record<string, string>;
  ratelimits: Array<{ name: string; simple: { limit: number; period: 10 | 60 } }>;
}

/** Builds the bundle, starts Redis, the endpoint, the origin and the Worker. */
export async function startFuzzWorker(vars: Record<string, string> = {}): Promise<FuzzWorker> {
  const out = mkdtempSync(join(tmpdir(), "erf-fuzz-"));
  const stoppers: Array<() => Promise<void>> = [async () => rmSync(out, { recursive: true, force: true })];
  const stop = async () => {
    for (const s of stoppers.splice(0).reverse()) await s().catch(() => {});
  };
  try {
    await run("npx", ["wrangler", "deploy", "--dry-run", "--config", "wrangler.toml", "--outdir", out], {
      cwd: repoRoot,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", NO_COLOR: "1" },
      timeout: 120_000,
    });
    const stack = await startLocalStack({ poolSize: 8 });
    stoppers.push(() => stack.stop());
    const origin = await startFuzzOrigin();
    stoppers.push(() => origin.close());
    const config = parseToml(readFileSync(join(repoRoot, "wrangler.toml"), "utf8")) as unknown as WranglerConfig;
    const token = randomBytes(24).toString("hex");
    const bindings: Record<string, string> = {
      ...config.vars,
      UPSTASH_REDIS_REST_URL: stack.endpoint.url,
      UPSTASH_REDIS_REST_TOKEN: stack.endpoint.token,
      API_TOKEN: token,
      KEY_PREFIX: `fuzz${randomBytes(3).toString("hex")}`,
      ORIGIN_URL: `${origin.url}/origin/`,
      ...vars,
    };
    const mf = new Miniflare({
      scriptPath: join(out, "index.js"),
      modules: true,
      modulesRoot: out,
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      ratelimits: Object.fromEntries(config.ratelimits.map((r) => [r.name, { simple: r.simple }])),
      bindings,
      host: "127.0.0.1",
      port: 0,
    });
    stoppers.push(() => mf.dispose());
    const url = (await mf.ready).origin;
    return {
      url,
      token,
      stack,
      origin,
      redisTimeoutMs: Number(bindings.REDIS_TIMEOUT_MS ?? 1500),
      redisRetries: Number(bindings.REDIS_RETRIES ?? 1),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
