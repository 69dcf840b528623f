/**
 * The OpenAPI document the Worker serves is lint-clean under Redocly's recommended rules
 * (errors and warnings), so tools that consume it (client generators, the docs page, the fuzz
 * suite) can trust it. The app is built in Node here; the document needs no binding.
 */
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";

describe("/openapi.json", () => {
  it("passes redocly lint (recommended) with no error and no warning", async () => {
    const res = await createApp().request("http://worker.test/openapi.json", {}, {});
    expect(res.status).toBe(200);
    const text = await res.text();
    const problems = await lintFromString({
      source: text,
      absoluteRef: "openapi.json",
      // info-license: the project states no license of its own (not ours to choose here).
      config: await createConfig({ extends: ["recommended"], rules: { "info-license": "off" } }),
    });
    const described = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`);
    expect(described).toEqual([]);
  });

  it("declares the server it is served from, and tags every operation by feature", async () => {
    const doc = await (await createApp().request("https://api.example.test/openapi.json", {}, {})).json() as {
      servers: Array<{ url: string }>;
      paths: Record<string, Record<string, { tags?: string[]; operationId?: string }>>;
    };
    expect(doc.servers).toEqual([{ url: "https://api.example.test", description: "This Worker" }]);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) expect(operation.tags?.length, `${method} ${path}`).toBe(1);
    }
    expect(doc.paths["/v1/locks/{name}"]?.post).toMatchObject({ tags: ["locks"], operationId: "postLocksByName" });
  });

  it("documents 415 on every operation that takes a JSON body: another media type is refused with it", async () => {
    const doc = (await (await createApp().request("http://worker.test/openapi.json", {}, {})).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { content?: Record<string, unknown> }> }>>;
    };
    const withBody = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).filter(([, op]) => op.requestBody).map(([method, op]) => ({ at: `${method} ${path}`, op })),
    );
    expect(withBody.length).toBeGreaterThan(0);
    for (const { at, op } of withBody) expect(Object.keys(op.responses[415]?.content ?? {}), at).toEqual(["application/problem+json"]);
    const refused = await createApp().request(
      "http://worker.test/v1/locks/x",
      { method: "POST", body: "{}", headers: { "Content-Type": "text/plain", Authorization: `Bearer ${"t".repeat(40)}` } },
      { API_TOKEN: "t".repeat(40), RATE_POLICIES: '{"middleware":{"v1":[],"public":[],"authFailures":false}}' },
    );
    expect(refused.status).toBe(415);
    expect(refused.headers.get("Content-Type")).toBe("application/problem+json");
  });

  it("documents 413 on the public operations too: the body limit guards every route (the fuzz suite sends the bodies)", async () => {
    const doc = (await (await createApp().request("http://worker.test/openapi.json", {}, {})).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    };
    const publicOps = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).filter(([, op]) => op.security?.length === 0).map(([method, op]) => ({ at: `${method} ${path}`, op })));
    expect(publicOps.map((p) => p.at)).toEqual(expect.arrayContaining(["get /", "get /health"]));
    for (const { at, op } of publicOps) expect(Object.keys(op.responses), at).toContain("413");
  });
});
