/**
 * Cache statistics view, against the contract of GET /v1/cache/stats:
 * `{ minutes: [{ start, hits, staleHits, misses, fills }], totals }`, oldest first.
 *
 * The first test answers the route in the browser (Playwright's page.route) with a body of
 * exactly that shape, so what is tested is the page: the request it makes (bearer header,
 * ?minutes=60) and how it draws a known answer. The second seeds real numbers with cache reads
 * through the Worker and sees them charted.
 */
import { describe, expect, it } from "vitest";
import { api, errorsOf, openConsole, snapshot, token, uid, useBrowser } from "./browser";

const browser = useBrowser();

/** 60 minutes ending with the current one: a little traffic, a burst of misses and fills. */
function contractBody() {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const minutes = Array.from({ length: 60 }, (_, i) => {
    const burst = i === 40;
    return { start: now - (59 - i) * 60_000, hits: i % 7, staleHits: i % 11 === 0 ? 2 : 0, misses: burst ? 9 : i % 3 === 0 ? 1 : 0, fills: burst ? 9 : i % 3 === 0 ? 1 : 0 };
  });
  const sum = (field: "hits" | "staleHits" | "misses" | "fills") => minutes.reduce((total, m) => total + m[field], 0);
  return { minutes, totals: { hits: sum("hits"), staleHits: sum("staleHits"), misses: sum("misses"), fills: sum("fills") } };
}

describe("cache statistics view", () => {
  it("asks for the last 60 minutes with the bearer token and charts hits, stale hits, misses and fills", async () => {
    const body = contractBody();
    const seen: { url: string; authorization: string | undefined }[] = [];
    await browser.context.route("**/v1/cache/stats?*", (route) => {
      seen.push({ url: route.request().url(), authorization: route.request().headers().authorization });
      return route.fulfill({ json: body });
    });

    const page = await openConsole(browser.context, "#stats");
    const chart = page.locator("#stats-chart svg");
    await chart.waitFor();
    expect(seen[0]).toEqual({ url: expect.stringMatching(/\/v1\/cache\/stats\?minutes=60$/), authorization: `Bearer ${token}` });

    const { hits, staleHits, misses, fills } = body.totals;
    expect(await page.locator("#stats-legend li").allInnerTexts()).toEqual([`hits ${hits}`, `stale hits ${staleHits}`, `misses ${misses}`, `fills ${fills}`]);
    const reads = hits + staleHits + misses;
    expect(await page.locator("#stats-caption").innerText()).toContain(`${reads} reads · hit ratio ${Math.round(((hits + staleHits) / reads) * 1000) / 10}%`);
    // One stack per minute with data, each outcome in its own colour, and the fills line.
    const nonZero = (field: "hits" | "staleHits" | "misses") => body.minutes.filter((m) => m[field] > 0).length;
    expect(await page.locator("#stats-chart rect.series-hits").count()).toBe(nonZero("hits"));
    expect(await page.locator("#stats-chart rect.series-stale").count()).toBe(nonZero("staleHits"));
    expect(await page.locator("#stats-chart rect.series-misses").count()).toBe(nonZero("misses"));
    expect((await page.locator("#stats-chart polyline.series-fills").getAttribute("points"))?.split(" ")).toHaveLength(60);

    // Not "stats": that name is the real Worker's counts, below.
    await snapshot(page, "stats-contract");
    await browser.context.unrouteAll();
    expect(errorsOf(page)).toEqual([]);
  });

  it("charts the Worker's real counts: cache reads made through the API show up once the isolate has flushed them", async () => {
    type Stats = { totals: { hits: number; misses: number } };
    const before = (await api("/v1/cache/stats?minutes=60")) as Stats;
    const key = `e2e-stats:${uid()}`;
    await api(`/v1/cache/${encodeURIComponent(key)}`, { method: "PUT", body: { value: 1, ttl: 600 } });
    for (let i = 0; i < 5; i++) await api(`/v1/cache/${encodeURIComponent(key)}`);
    // The isolate flushes at most every 5 s, on a cache request: keep reading until it has.
    await expect
      .poll(async () => ((await api("/v1/cache/stats?minutes=60")) as Stats).totals.hits - before.totals.hits, { timeout: 20_000, interval: 1000 })
      .toBeGreaterThanOrEqual(5);
    const now = (await api("/v1/cache/stats?minutes=60")) as Stats;

    const page = await openConsole(browser.context, "#stats");
    await page.locator("#stats-chart svg").waitFor();
    const legend = await page.locator("#stats-legend li").allInnerTexts();
    const shown = Number(/^hits (\d+)$/.exec(legend[0] ?? "")?.[1]);
    expect(shown).toBeGreaterThanOrEqual(now.totals.hits);
    expect(await page.locator("#stats-chart rect.series-hits").count()).toBeGreaterThan(0);
    await snapshot(page, "stats");
    expect(errorsOf(page)).toEqual([]);
  });
});
