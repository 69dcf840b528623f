/**
 * The Worker under fuzzing: the production bundle (built by wrangler as `wrangler deploy`
 * builds it) run by Miniflare on a real loopback port, with wrangler.toml's vars and
 * rate-limiting bindings, against a private Redis behind the local endpoint and a programmable
 * origin for the proxy. Real HTTP, so hostile paths reach workerd exactly as sent.
 */
import { randomBytes } from "node:crypto";
import { buildBundle, startMiniflareWorker, type Bundle } from "../../../bench/miniflare";
import { startLocalStack, type LocalStack } from "../local-stack";
import { repoRoot } from "../processes";
import { startFuzzOrigin, type FuzzOrigin } from "./origin";

/** How much of the Worker's own output is kept for a failure's report. */
const KEPT_OUTPUT_CHARS = 20_000;

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
  /**
   * The end of what the Worker printed. Under injected faults it logs every 503 it answers,
   * hundreds of lines that say what the test expects, so they are kept here, not printed.
   */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts Redis, the endpoint, the origin and the Worker from `bundle`, which stays the caller's
 * to remove; without one, builds a bundle of its own and removes it on `stop()`.
 */
export async function startFuzzWorker(vars: Record<string, string> = {}, bundle?: Bundle): Promise<FuzzWorker> {
  const stoppers: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stoppers.splice(0).reverse()) await s().catch(() => {});
  };
  let output = "";
  try {
    if (!bundle) {
      const own = await buildBundle(repoRoot);
      stoppers.push(async () => own.remove());
      bundle = own;
    }
    const stack = await startLocalStack({ poolSize: 8 });
    stoppers.push(() => stack.stop());
    const origin = await startFuzzOrigin();
    stoppers.push(() => origin.close());
    const token = randomBytes(24).toString("hex");
    const bindings: Record<string, string> = {
      ...bundle.config.vars,
      UPSTASH_REDIS_REST_URL: stack.endpoint.url,
      UPSTASH_REDIS_REST_TOKEN: stack.endpoint.token,
      API_TOKEN: token,
      KEY_PREFIX: `fuzz${randomBytes(3).toString("hex")}`,
      ORIGIN_URL: `${origin.url}/origin/`,
      ...vars,
    };
    const worker = await startMiniflareWorker({
      bundle,
      vars: bindings,
      onOutput: (text) => (output = (output + text).slice(-KEPT_OUTPUT_CHARS)),
    });
    stoppers.push(() => worker.dispose());
    const url = worker.url;
    return {
      url,
      token,
      stack,
      origin,
      redisTimeoutMs: Number(bindings.REDIS_TIMEOUT_MS ?? 1500),
      redisRetries: Number(bindings.REDIS_RETRIES ?? 1),
      output: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
