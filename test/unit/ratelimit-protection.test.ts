import { fileURLToPath } from "node:url";
import { experimental_readRawConfig } from "wrangler";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../functions/platform/config";
import { bindingPolicyHeader, ipKey, LocalBlocks } from "../../functions/platform/protection";
import { DEFAULT_MIDDLEWARE, parseRateConfig } from "../../functions/ratelimit/config";
import { checkedHeaders, rateLimitHeaders } from "../../functions/ratelimit/headers";
import { tokenBucket } from "../../shared/ratelimit/algorithms";

/** API protection's pure parts: client keys, RATE_POLICIES, the headers, the isolate's block memory. */

describe("ipKey: one key per IPv4 address, per IPv6 /64", () => {
  it.each([
    ["203.0.113.7", "ip:203.0.113.7"],
    ["2001:db8:85a3:8d3:1319:8a2e:370:7348", "ip6:2001:db8:85a3:8d3::/64"],
    ["2001:DB8:85A3:08D3:0000:0000:0000:0001", "ip6:2001:db8:85a3:8d3::/64"], // case, leading zeros
    ["2001:db8::1", "ip6:2001:db8:0:0::/64"], // compressed
    ["2001:db8:0:0:ffff::", "ip6:2001:db8:0:0::/64"],
    ["::1", "ip6:0:0:0:0::/64"],
    ["::", "ip6:0:0:0:0::/64"],
    ["fe80::1%eth0", "ip6:fe80:0:0:0::/64"], // zone id dropped
    ["[2001:db8::1]", "ip6:2001:db8:0:0::/64"],
    ["::ffff:192.0.2.1", "ip:192.0.2.1"], // IPv4-mapped: the IPv4 address
    ["::FFFF:c000:0201", "ip:192.0.2.1"],
    ["64:ff9b::192.0.2.1", "ip6:64:ff9b:0:0::/64"], // NAT64: an IPv6 prefix
  ])("%s → %s", (address, key) => {
    expect(ipKey(address)).toBe(key);
  });

  it("gives every address of one /64 the same key, and the next /64 another", () => {
    expect(ipKey("2001:db8:1:2:aaaa::1")).toBe(ipKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect(ipKey("2001:db8:1:3::1")).not.toBe(ipKey("2001:db8:1:2::1"));
  });

  it("keeps what is not an address as it is, at most 64 characters", () => {
    expect(ipKey("1:2:3")).toBe("ip:1:2:3");
    expect(ipKey("1::2::3")).toBe("ip:1::2::3");
    expect(ipKey("::ffff:300.1.1.1")).toBe("ip:::ffff:300.1.1.1");
    expect(ipKey("x".repeat(100))).toBe(`ip:${"x".repeat(64)}`);
  });
});

describe("RATE_POLICIES middleware", () => {
  it("defaults to the three bindings of wrangler.toml: no Upstash request", () => {
    const config = parseRateConfig({});
    expect(config.v1).toEqual({ kind: "binding", name: "api", binding: "API_LIMITER", limit: 10_000, period: 10 });
    expect(config.public).toEqual({ kind: "binding", name: "public", binding: "PUBLIC_LIMITER", limit: 100, period: 10 });
    expect(config.authFailures).toEqual({ name: "auth-failures", binding: "AUTH_FAILURES", limit: 10, period: 60 });
    expect([...config.policies.keys()]).toEqual(["api", "public"]); // still there for /v1/rate
  });

  it("naming policies switches a group to Upstash; [] and false turn protection off", () => {
    const config = parseRateConfig({ middleware: { v1: ["api"], public: [], authFailures: false } });
    expect(config.v1).toMatchObject({ kind: "policies", policies: [{ name: "api" }] });
    expect(config.public).toEqual({ kind: "off" });
    expect(config.authFailures).toBeNull();
  });

  it("accepts another binding with its limit and period", () => {
    const config = parseRateConfig({ middleware: { public: { binding: "STRICT", limit: 5, period: 60 } } });
    expect(config.public).toEqual({ kind: "binding", name: "public", binding: "STRICT", limit: 5, period: 60 });
  });

  it.each([
    [{ middleware: { v1: ["nope"] } }, /undefined policy "nope"/],
    [{ middleware: { v1: { binding: "X", limit: 5, period: 30 } } }, /10 or 60/],
    [{ middleware: { v1: { binding: "X", limit: 0, period: 10 } } }, /middleware\.v1/],
    [{ middleware: { authFailures: true } }, /authFailures/],
    [{ middleware: { other: [] } }, /middleware/],
    [{ policies: { x: { algorithm: "fixed-window", limit: 1, window: "10ms" } } }, /at least 1s/],
  ])("refuses %j with a ConfigError naming RATE_POLICIES", (raw, detail) => {
    let error: unknown;
    try {
      parseRateConfig(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe("RATE_POLICIES");
    expect((error as ConfigError).message).toMatch(detail);
  });

  it("its defaults state the limit and period wrangler.toml gives each binding (a binding cannot report them)", () => {
    const path = fileURLToPath(new URL("../../wrangler.toml", import.meta.url));
    const { rawConfig } = experimental_readRawConfig({ config: path });
    const bindings = (rawConfig.ratelimits ?? []) as Array<{ name: string; simple: { limit: number; period: number } }>;
    const declared = Object.fromEntries(bindings.map((r) => [r.name, r.simple]));
    for (const { binding, limit, period } of Object.values(DEFAULT_MIDDLEWARE)) {
      expect(declared[binding], binding).toEqual({ limit, period });
    }
  });
});

describe("headers", () => {
  const api = { name: "api", algorithm: tokenBucket({ capacity: 3000, refill: 1000, intervalMs: 1000 }) };
  const result = {
    allowed: true,
    limit: 3000,
    remaining: 2999,
    resetMs: 1,
    retryAfterMs: 0,
    policies: [{ policy: "api", id: "x", allowed: true, limit: 3000, remaining: 2999, resetMs: 1, retryAfterMs: 0 }],
  };

  it("the caller's own limits use the standard names; a checked policy's use Checked-*", () => {
    expect(rateLimitHeaders([api], result)).toEqual({ "RateLimit-Policy": '"api";q=3000;w=3', RateLimit: '"api";r=2999;t=1' });
    expect(checkedHeaders([api], result)).toEqual({ "Checked-RateLimit-Policy": '"api";q=3000;w=3', "Checked-RateLimit": '"api";r=2999;t=1' });
    expect(checkedHeaders([api], { ...result, policies: [] })).toEqual({ "Checked-RateLimit-Policy": '"api";q=3000;w=3' });
  });

  it("a binding states its limit and period only", () => {
    expect(bindingPolicyHeader([{ name: "api", binding: "API_LIMITER", limit: 10_000, period: 10 }])).toBe('"api";q=10000;w=10');
  });
});

describe("the isolate's memory of blocked clients", () => {
  it("expires on the local clock and stays bounded", () => {
    const blocks = new LocalBlocks(2);
    blocks.block("a", 1000);
    expect(blocks.blockedFor("a", 400)).toBe(600);
    expect(blocks.blockedFor("a", 1000)).toBe(0);
    for (const key of ["b", "c", "d"]) blocks.block(key, 5000);
    expect(blocks.blockedFor("b", 0)).toBe(0); // pushed out
    expect(blocks.blockedFor("d", 0)).toBe(5000);
  });
});
