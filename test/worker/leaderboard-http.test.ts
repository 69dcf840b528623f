import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { api, clearFaults, json, setFaults, uniqueName } from "./helpers";

interface Entry {
  rank: number;
  member: string;
  score: number;
  name?: string;
}
interface Page {
  board: string;
  period: string;
  version: string;
  total: number;
  entries: Entry[];
}
interface Problem {
  type: string;
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

const path = (board: string, rest = "") => `/v1/leaderboards/${encodeURIComponent(board)}${rest}`;
const submit = (board: string, body: unknown) => api(path(board, "/scores"), json(body));
const top = async (board: string, query = "") => (await api(path(board, query))).json<Page>();

/** Calls the Worker with some vars replaced (a new env object, so config is parsed anew). */
function callWorker(url: string, overrides: Partial<Cloudflare.Env>, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${env.API_TOKEN}`);
  headers.set("Content-Type", "application/json");
  return worker.fetch(new Request(`http://worker.test${url}`, { ...init, headers }), { ...env, ...overrides }, createExecutionContext());
}

async function problemOf(res: Response, status: number): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  return res.json<Problem>();
}

afterEach(clearFaults);

describe("the leaderboard routes", () => {
  it("submit, top, member with neighbours, remove and delete", async () => {
    const board = uniqueName("arena");
    const first = await submit(board, { member: "alice", score: 120, name: "Alice" });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({
      member: "alice",
      score: 120,
      rank: 1,
      replayed: false,
      periods: [
        { period: "all-time", version: "all-time", score: 120, rank: 1 },
        { period: "daily", score: 120, rank: 1 },
        { period: "weekly", score: 120, rank: 1 },
        { period: "monthly", score: 120, rank: 1 },
      ],
    });
    await submit(board, { member: "bob", score: 99.5 });
    await submit(board, { member: "carol", score: 130, mode: "sum" });

    expect(await top(board, "?limit=2")).toEqual({
      board,
      period: "all-time",
      version: "all-time",
      total: 3,
      entries: [
        { rank: 1, member: "carol", score: 130 },
        { rank: 2, member: "alice", score: 120, name: "Alice" },
      ],
    });
    const res = await api(path(board, "/members/bob?around=1&period=weekly&ranking=dense"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      board,
      period: "weekly",
      rank: 3,
      member: "bob",
      score: 99.5,
      total: 3,
      around: [
        { rank: 2, member: "alice", score: 120, name: "Alice" },
        { rank: 3, member: "bob", score: 99.5 },
      ],
    });

    expect((await api(path(board, "/members/bob"), { method: "DELETE" })).status).toBe(204);
    expect((await problemOf(await api(path(board, "/members/bob")), 404)).type).toBe("urn:problem:not-found");
    expect((await top(board, "?period=daily")).total).toBe(2);
    expect((await api(path(board), { method: "DELETE" })).status).toBe(204);
    expect((await top(board, "?period=monthly")).total).toBe(0);
  });

  it("a batch of up to 100 entries is one submit; ranks are as of its end", async () => {
    const board = uniqueName("batch");
    const entries = Array.from({ length: 100 }, (_, i) => ({ member: `m${i}`, score: i }));
    const res = await api(path(board, "/scores/batch"), json({ entries }));
    expect(res.status).toBe(200);
    const { results } = await res.json<{ results: Array<{ member: string; rank: number }> }>();
    expect(results).toHaveLength(100);
    expect(results[99]).toMatchObject({ member: "m99", rank: 1 });
    expect(results[0]).toMatchObject({ member: "m0", rank: 100 });
  });

  it("member names are path segments: slashes and non-ASCII survive encoding", async () => {
    const board = uniqueName("names/é");
    await submit(board, { member: "clan/ünïcode ✓", score: 5 });
    const res = await api(path(board, `/members/${encodeURIComponent("clan/ünïcode ✓")}?around=0`));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ member: "clan/ünïcode ✓", rank: 1, score: 5 });
  });

  it("pages are consistent: offset pages join into the whole board, ties in a stable order", async () => {
    const board = uniqueName("pages");
    const entries = Array.from({ length: 25 }, (_, i) => ({ member: `p${String(i).padStart(2, "0")}`, score: Math.floor(i / 3) }));
    await api(path(board, "/scores/batch"), json({ entries }));
    const whole = await top(board, "?limit=25");
    const pages: Entry[] = [];
    for (let offset = 0; offset < 25; offset += 7) pages.push(...(await top(board, `?limit=7&offset=${offset}`)).entries);
    expect(pages).toEqual(whole.entries);
    expect(new Set(pages.map((e) => e.member)).size).toBe(25);
    expect(pages.map((e) => e.rank)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    // Beyond the end: an empty page, the total still right.
    expect(await top(board, "?offset=25")).toMatchObject({ total: 25, entries: [] });
  });

  it("at picks the version holding that instant, as an ISO date, an ISO date-time or epoch ms", async () => {
    const board = uniqueName("at");
    const res = await submit(board, { member: "m", score: 3 });
    const { version } = (await res.json<{ periods: Array<{ version: string }> }>()).periods[1]!; // daily
    const noon = Date.parse(`${version}T12:00:00Z`);
    for (const at of [version, new Date(noon).toISOString(), String(noon)]) {
      expect(await top(board, `?period=daily&at=${encodeURIComponent(at)}`)).toMatchObject({ version, total: 1 });
    }
  });

  it("limit and around are capped at 100 and 50", async () => {
    const board = uniqueName("caps");
    await submit(board, { member: "m", score: 1 });
    expect((await api(path(board, "?limit=100"))).status).toBe(200);
    expect((await problemOf(await api(path(board, "?limit=101")), 400)).errors?.[0]?.path).toBe("limit");
    expect((await api(path(board, "/members/m?around=50"))).status).toBe(200);
    expect((await problemOf(await api(path(board, "/members/m?around=51")), 400)).errors?.[0]?.path).toBe("around");
  });

  it("K concurrent sum submits add up exactly", async () => {
    const board = uniqueName("concurrent");
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => submit(board, { member: "team", score: 0.7, mode: "sum" })),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect((await top(board)).entries).toEqual([{ rank: 1, member: "team", score: 14 }]);
  });
});

describe("idempotency over HTTP", () => {
  it("the same key twice counts once; a different key counts again; another body is a 409", async () => {
    const board = uniqueName("idem");
    const body = { member: "p", score: 5, mode: "sum", idempotencyKey: "match-7" };
    const first = await (await submit(board, body)).json();
    const again = await submit(board, body);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ...(first as object), replayed: true });
    expect((await top(board)).entries[0]?.score).toBe(5);
    await submit(board, { ...body, idempotencyKey: "match-8" });
    expect((await top(board)).entries[0]?.score).toBe(10);
    const conflict = await problemOf(await submit(board, { ...body, score: 6 }), 409);
    expect(conflict).toMatchObject({ type: "urn:problem:conflict", field: "idempotencyKey" });
    const batch = await api(path(board, "/scores/batch"), json({ entries: [{ member: "q", score: 1 }, { ...body, score: 6 }] }));
    expect(await problemOf(batch, 409)).toMatchObject({ type: "urn:problem:conflict", field: "entries.1.idempotencyKey" });
    expect((await top(board)).entries).toEqual([{ rank: 1, member: "p", score: 10 }]);
  });
});

describe("refused submits over HTTP", () => {
  it("a sum leaving ±1e12 is a 400 naming the entry's score, and changes nothing", async () => {
    const board = uniqueName("range");
    await submit(board, { member: "p", score: 999_999_999_999, mode: "sum" });
    const single = await problemOf(await submit(board, { member: "p", score: 2, mode: "sum" }), 400);
    expect(single).toMatchObject({ type: "urn:problem:invalid-input", errors: [{ path: "score" }] });
    const batch = await api(path(board, "/scores/batch"), json({ entries: [{ member: "q", score: 1 }, { member: "p", score: 2, mode: "sum" }] }));
    expect((await problemOf(batch, 400)).errors?.[0]?.path).toBe("entries.1.score");
    expect((await top(board)).entries).toEqual([{ rank: 1, member: "p", score: 999_999_999_999 }]);
  });
});

describe("bad input gets a 400 problem and changes nothing", () => {
  it.each([
    ["NaN", '{"member":"m","score":NaN}'],
    ["Infinity", '{"member":"m","score":1e999}'],
    ["a string score", '{"member":"m","score":"12"}'],
    ["a score above 1e12", '{"member":"m","score":1000000000000.001}'],
    ["a score below -1e12", '{"member":"m","score":-2e12}'],
    ["a 4th decimal place", '{"member":"m","score":1.0001}'],
    ["a member over 256 bytes", JSON.stringify({ member: "é".repeat(129), score: 1 })],
    ["an empty member", '{"member":"","score":1}'],
    ["a control character", '{"member":"a\\nb","score":1}'],
    // JSON may escape a lone surrogate; UTF-8 (what Redis stores) cannot hold one.
    ["a member with a lone surrogate", '{"member":"a\\ud800","score":1}'],
    ["a name with a lone surrogate", '{"member":"m","score":1,"name":"\\udfff"}'],
    ["a name over 1 KiB", JSON.stringify({ member: "m", score: 1, name: "x".repeat(1025) })],
    ["an unknown mode", '{"member":"m","score":1,"mode":"max"}'],
    ["an unknown field", '{"member":"m","score":1,"extra":true}'],
    ["a missing score", '{"member":"m"}'],
  ])("submit with %s", async (_label, body) => {
    const board = uniqueName("bad");
    await submit(board, { member: "keep", score: 1 });
    const res = await api(path(board, "/scores"), { method: "POST", body });
    const problem = await problemOf(res, 400);
    expect(problem.detail.length).toBeGreaterThan(0);
    const after = await top(board, "?limit=100");
    expect(after.entries).toEqual([{ rank: 1, member: "keep", score: 1 }]);
    expect((await top(board, "?period=daily")).total).toBe(1);
  });

  it("a batch with one bad entry, too many entries, or none, changes nothing", async () => {
    const board = uniqueName("badbatch");
    await submit(board, { member: "keep", score: 1 });
    const bad = await problemOf(
      await api(path(board, "/scores/batch"), json({ entries: [{ member: "a", score: 1 }, { member: "b", score: Number.MAX_VALUE }] })),
      400,
    );
    expect(bad.errors?.some((e) => e.path.startsWith("entries.1"))).toBe(true);
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ member: `m${i}`, score: i }));
    await problemOf(await api(path(board, "/scores/batch"), json({ entries: tooMany })), 400);
    await problemOf(await api(path(board, "/scores/batch"), json({ entries: [] })), 400);
    const dup = [{ member: "a", score: 1, idempotencyKey: "k" }, { member: "b", score: 2, idempotencyKey: "k" }];
    expect((await problemOf(await api(path(board, "/scores/batch"), json({ entries: dup })), 400)).errors?.[0]?.path).toBe("entries.1.idempotencyKey");
    expect((await top(board)).entries).toEqual([{ rank: 1, member: "keep", score: 1 }]);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=-1", "limit"],
    ["limit=abc", "limit"],
    ["offset=-1", "offset"],
    ["period=yearly", "period"],
    ["ranking=olympic", "ranking"],
    ["at=yesterday", "at"],
    ["at=-5", "at"],
    ["period=daily&at=2000-01-01", "at"],
    ["ranking=dense&offset=1000", "offset"],
  ])("a read with %s", async (query, field) => {
    const board = uniqueName("badread");
    await submit(board, { member: "keep", score: 1 });
    expect((await problemOf(await api(path(board, `?${query}`)), 400)).errors?.[0]?.path).toBe(field);
    expect((await top(board)).total).toBe(1);
  });

  it("a board name over 256 bytes, and a period the board does not keep", async () => {
    await problemOf(await submit("b".repeat(257), { member: "m", score: 1 }), 400);
    const res = await callWorker(path(uniqueName("weekly-only"), "?period=daily"), { LEADERBOARDS: '{"*":{"periods":["weekly"]}}' });
    expect((await problemOf(res, 400)).errors?.[0]?.path).toBe("period");
  });
});

describe("LEADERBOARDS configuration", () => {
  const LEADERBOARDS = JSON.stringify({
    "*": { periods: ["all-time"] },
    laps: { order: "asc", periods: ["daily", "all-time"], cap: 2, mode: "best" },
  });

  it("configured boards follow their settings; unlisted ones the '*' defaults", async () => {
    const call = (board: string, body?: unknown, query = "") =>
      callWorker(path(board, body ? "/scores" : query), { LEADERBOARDS }, body ? { method: "POST", body: JSON.stringify(body) } : {});
    // The board name "laps" is shared by every run: start from empty.
    await callWorker(path("laps"), { LEADERBOARDS }, { method: "DELETE" });
    for (const [member, score] of [["a", 61.5], ["b", 58.25], ["c", 70], ["b", 59]] as const) await call("laps", { member, score });
    const laps = await (await call("laps")).json<Page>();
    expect(laps).toMatchObject({ period: "daily", total: 2 });
    expect(laps.entries.map((e) => [e.member, e.score])).toEqual([["b", 58.25], ["a", 61.5]]);

    const other = uniqueName("plain");
    const result = await (await call(other, { member: "m", score: 1 })).json<{ periods: Array<{ period: string }> }>();
    expect(result.periods.map((p) => p.period)).toEqual(["all-time"]);
  });

  it("an invalid LEADERBOARDS is a 500 problem naming it", async () => {
    for (const bad of ['{"x":{"periods":["hourly"]}}', '{"x":{"versions":0}}', "not json", '{"x":{"cap":-1}}']) {
      const res = await callWorker(path("x"), { LEADERBOARDS: bad });
      expect((await problemOf(res, 500)).detail).toContain("LEADERBOARDS");
    }
  });
});

describe("failures and documentation", () => {
  it("a Redis that answers 5xx is a 503 redis-unavailable problem", async () => {
    await setFaults({ down: "5xx" });
    // The rate-limit middleware in front fails open, so these answers come from the routes.
    for (const res of [await submit(uniqueName("down"), { member: "m", score: 1 }), await api(path(uniqueName("down")))]) {
      expect((await problemOf(res, 503)).type).toBe("urn:problem:redis-unavailable");
    }
  });

  it("a Redis slower than REDIS_TIMEOUT_MS is a 503, not a hang", async () => {
    // Each request would succeed after 3 s; only the client's timeout can turn it into a 503.
    await setFaults({ latencyMs: 3000 });
    const vars = { REDIS_TIMEOUT_MS: "200" };
    const body = JSON.stringify({ member: "m", score: 1 });
    const slowSubmit = await callWorker(path(uniqueName("slow"), "/scores"), vars, { method: "POST", body });
    expect((await problemOf(slowSubmit, 503)).type).toBe("urn:problem:redis-unavailable");
    expect((await problemOf(await callWorker(path(uniqueName("slow")), vars), 503)).type).toBe("urn:problem:redis-unavailable");
  });

  it("every route is in the OpenAPI document", async () => {
    const doc = await (await api("/openapi.json", { auth: false })).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths["/v1/leaderboards/{board}"] ?? {}).sort()).toEqual(["delete", "get"]);
    expect(doc.paths["/v1/leaderboards/{board}/scores"]?.post).toBeDefined();
    expect(doc.paths["/v1/leaderboards/{board}/scores/batch"]?.post).toBeDefined();
    expect(Object.keys(doc.paths["/v1/leaderboards/{board}/members/{member}"] ?? {}).sort()).toEqual(["delete", "get"]);
  });
});
