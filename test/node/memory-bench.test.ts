/**
 * `npm run bench:memory` tells the Worker's retention from the runtime's by the JS heap after a
 * garbage collection. That instrument must see a Worker that keeps something per request, and
 * see nothing in one that keeps nothing; and the script itself must run through (bounded) and
 * report every route it was asked for.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { afterAll, describe, expect, it } from "vitest";
import { connectHeapProbe } from "../../bench/inspector";
import { repoRoot } from "./processes";

const run = promisify(execFile);
const outDir = mkdtempSync(join(tmpdir(), "memory-bench-test-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** The JS heap after GC before and after `requests` requests to a Worker of `script`. */
async function heapAround(script: string, requests: number): Promise<{ before: number; after: number }> {
  const mf = new Miniflare({ script, modules: true, host: "127.0.0.1", port: 0, inspectorPort: 0 });
  try {
    const url = await mf.ready;
    const probe = await connectHeapProbe(await mf.getInspectorURL());
    try {
      const poke = async () => void (await (await fetch(url)).arrayBuffer());
      const before = await probe.usedAfterGc(poke);
      for (let i = 0; i < requests; i++) await poke();
      return { before, after: await probe.usedAfterGc(poke) };
    } finally {
      probe.close();
    }
  } finally {
    await mf.dispose();
  }
}

describe("the heap probe", () => {
  it("sees a Worker that keeps 1,000 numbers per request (about 4 KB)", async () => {
    const { before, after } = await heapAround(
      `const kept = []; export default { fetch() { kept.push(new Array(1000).fill(1)); return new Response("ok"); } }`,
      500,
    );
    expect(after - before).toBeGreaterThan(500 * 3000);
  }, 60_000);

  it("sees nothing kept by a Worker that keeps nothing", async () => {
    const { before, after } = await heapAround(`export default { fetch() { new Array(1000).fill(1); return new Response("ok"); } }`, 500);
    expect(Math.abs(after - before)).toBeLessThan(100_000);
  }, 60_000);
});

it("bench:memory runs the deploy bundle under Miniflare and reports each route it was asked for", async () => {
  const args = ["--import", "tsx", "bench/memory.ts", "--routes", "health,counter-hit", "--warmup", "20", "--steps", "2", "--requests", "30", "--out", outDir];
  await run(process.execPath, args, { cwd: repoRoot, timeout: 240_000 });
  const report = JSON.parse(readFileSync(join(outDir, "memory.json"), "utf8")) as {
    results: Array<{ route: string; unexpected: number; heapAfterGc: number[]; stepsKBPerRequest: number[] }>;
  };
  expect(report.results.map((r) => r.route)).toEqual(["health", "counter-hit"]);
  for (const r of report.results) {
    expect(r.unexpected, r.route).toBe(0);
    expect(r.heapAfterGc, r.route).toHaveLength(3);
    if (process.platform === "linux") expect(r.stepsKBPerRequest, r.route).toHaveLength(2);
  }
  expect(readFileSync(join(outDir, "memory.md"), "utf8")).toContain("| counter-hit |");
}, 300_000);
