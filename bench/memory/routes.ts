import type { EndpointProcess } from "../../local/endpoint-process";

/**
 * What `npm run bench:memory` calls, one route per fresh workerd. The two baselines are Workers
 * of no code of ours: what the runtime itself costs per request, with and without a subrequest.
 */
export interface Route {
  name: string;
  /** Serve this module instead of the bundle: a Worker of no code of ours, for reference. */
  script?: (endpoint: EndpointProcess) => string;
  /** Once, before the warm-up. */
  setup?: (call: Call) => Promise<void>;
  path: string;
  init?: RequestInit;
  expect: number;
}

export type Call = (path: string, init?: RequestInit) => Promise<Response>;

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });

export const ROUTES: Route[] = [
  { name: "baseline", script: () => `export default { fetch: () => new Response("ok") }`, path: "/", expect: 200 },
  {
    name: "baseline-fetch",
    // One subrequest per request, as most of ours make one: the runtime's own cost of a fetch.
    script: (e) => `export default { async fetch() {
      const res = await fetch(${JSON.stringify(e.url)}, { method: "POST", headers: { Authorization: "Bearer ${e.token}" }, body: '["PING"]' });
      return new Response(await res.text());
    } }`,
    path: "/",
    expect: 200,
  },
  { name: "health", path: "/health", expect: 200 },
  { name: "cache-miss", path: "/v1/cache/absent", expect: 404 },
  {
    name: "cache-hit",
    setup: async (call) => void (await call("/v1/cache/present", json("PUT", { value: { a: 1 }, ttl: 3600, tags: ["t"] }))).arrayBuffer(),
    path: "/v1/cache/present",
    expect: 200,
  },
  { name: "counter-hit", path: "/v1/counters/hits", init: json("POST", { by: 1 }), expect: 200 },
  { name: "rate-check", path: "/v1/rate/memory/someone", init: { method: "POST" }, expect: 200 },
  {
    name: "leaderboard-top",
    setup: async (call) => {
      for (let i = 0; i < 20; i++) await (await call("/v1/leaderboards/arena/scores", json("POST", { member: `m${i}`, score: i }))).arrayBuffer();
    },
    path: "/v1/leaderboards/arena?limit=10",
    expect: 200,
  },
];
