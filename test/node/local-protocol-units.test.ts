/**
 * Unit tests of the endpoint's pure pieces: reply encoding, request parsing, the refused
 * command list, fault decisions, subscribe paths and event-stream framing. No network.
 */
import { describe, expect, it } from "vitest";
import { refusalReason, REFUSED_COMMANDS } from "../../local/commands";
import { commandFromJson, encodeEntry, encodeResult, encodingFromHeader } from "../../local/encoding";
import { FaultInjector, parseFaultConfig } from "../../local/faults";
import { commandNames, parseCommandRequest, parseSubscribeRequest } from "../../local/request";
import { sseEvent } from "../../local/subscribe";

const b = (text: string) => Buffer.from(text, "utf8");

describe("encodeResult", () => {
  it("keeps a top-level OK plain but base64-encodes every other string", () => {
    expect(encodeResult(b("OK"), "base64")).toBe("OK");
    expect(encodeResult(b("PONG"), "base64")).toBe("UE9ORw==");
    expect(encodeResult(b("héllo"), "base64")).toBe(Buffer.from("héllo").toString("base64"));
  });

  it("base64-encodes OK inside arrays, where the client decodes every string", () => {
    expect(encodeResult([b("OK"), 3, null, [b("x")]], "base64")).toEqual(["T0s=", 3, null, ["eA=="]]);
  });

  it("writes plain UTF-8 without base64, keeping numbers and nil", () => {
    expect(encodeResult([b("a"), 1, null], "utf8")).toEqual(["a", 1, null]);
    expect(encodeResult(null, "base64")).toBeNull();
    expect(encodeResult(42, "base64")).toBe(42);
  });

  it("is binary-safe in base64", () => {
    expect(encodeResult(Buffer.from([0, 255, 1]), "base64")).toBe("AP8B");
  });

  it("turns an error reply into an error entry and nested errors into their text", () => {
    expect(encodeEntry(new Error("ERR boom"), "utf8")).toEqual({ error: "ERR boom" });
    expect(encodeEntry([new Error("ERR inner")], "utf8")).toEqual({ result: ["ERR inner"] });
  });
});

describe("encodingFromHeader", () => {
  it("recognises base64 in any case and defaults to plain", () => {
    expect(encodingFromHeader("base64")).toBe("base64");
    expect(encodingFromHeader("BASE64")).toBe("base64");
    expect(encodingFromHeader(undefined)).toBe("utf8");
    expect(encodingFromHeader("gzip")).toBe("utf8");
  });
});

describe("commandFromJson", () => {
  it("turns numbers and booleans into strings", () => {
    expect(commandFromJson(["SET", "k", 1.5, true])).toEqual(["SET", "k", "1.5", "true"]);
  });

  it("rejects anything but a non-empty array of scalars", () => {
    for (const bad of [[], {}, "GET", null, ["SET", "k", { a: 1 }], ["SET", "k", null], ["SET", ["k"]], ["X", Infinity]]) {
      expect(commandFromJson(bad)).toBeNull();
    }
  });
});

describe("refusalReason", () => {
  it("refuses blocking, connection-state, pub/sub, cluster and admin commands", () => {
    for (const name of ["BLPOP", "watch", "Multi", "SELECT", "SUBSCRIBE", "MONITOR", "AUTH", "CLIENT", "CLUSTER", "CONFIG", "SHUTDOWN", "FLUSHALL"]) {
      const reason = refusalReason([name, "x"]);
      if (name === "FLUSHALL") expect(reason).toBeNull();
      else expect(reason).toBe(`ERR command '${name.toUpperCase()}' is not available over the REST API`);
    }
    expect(REFUSED_COMMANDS.has("PING")).toBe(false);
    expect(REFUSED_COMMANDS.has("ECHO")).toBe(false);
  });

  it("refuses stream reads only in their blocking form", () => {
    expect(refusalReason(["XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "$"])).toMatch(/XREAD BLOCK/);
    expect(refusalReason(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">"])).toMatch(/XREADGROUP BLOCK/);
    expect(refusalReason(["XREAD", "COUNT", "1", "STREAMS", "block", "0"])).toBeNull();
    expect(refusalReason(["XREADGROUP", "GROUP", "block", "block", "STREAMS", "s", ">"])).toBeNull();
  });
});

describe("parseCommandRequest", () => {
  it("parses single commands, pipelines and transactions", () => {
    expect(parseCommandRequest("POST", "/", b('["GET","k"]'))).toEqual({ ok: true, request: { kind: "single", command: ["GET", "k"] } });
    expect(parseCommandRequest("POST", "/pipeline", b('[["GET","a"],["INCR","b"]]'))).toEqual({
      ok: true,
      request: { kind: "pipeline", commands: [["GET", "a"], ["INCR", "b"]] },
    });
    const tx = parseCommandRequest("POST", "/multi-exec", b('[["INCR","b"]]'));
    expect(tx.ok && tx.request.kind).toBe("transaction");
  });

  it("parses path-style commands, taking a POST body as the last argument", () => {
    expect(parseCommandRequest("GET", "/set/k%20x/v", b(""))).toEqual({ ok: true, request: { kind: "single", command: ["set", "k x", "v"] } });
    expect(parseCommandRequest("POST", "/set/k", b("body value"))).toEqual({
      ok: true,
      request: { kind: "single", command: ["set", "k", "body value"] },
    });
  });

  it("reports malformed requests", () => {
    expect(parseCommandRequest("POST", "/", b("{nope")).ok).toBe(false);
    expect(parseCommandRequest("POST", "/pipeline", b("[]")).ok).toBe(false);
    expect(parseCommandRequest("POST", "/pipeline", b('["GET","k"]')).ok).toBe(false);
    expect(parseCommandRequest("GET", "/pipeline", b("")).ok).toBe(false);
    expect(parseCommandRequest("GET", "/get/%E0%A4%A", b("")).ok).toBe(false);
  });

  it("names the commands of a request", () => {
    const parsed = parseCommandRequest("POST", "/pipeline", b('[["get","a"],["EVALSHA","x","0"]]'));
    expect(parsed.ok && commandNames(parsed.request)).toEqual(["get", "EVALSHA"]);
  });
});

describe("parseSubscribeRequest", () => {
  const sse = "text/event-stream";

  it("reads channels or patterns, percent-decoded, from a request that accepts an event stream", () => {
    expect(parseSubscribeRequest("POST", "/subscribe/a%20b/r%C3%B6om,1", sse)).toEqual({
      ok: true,
      request: { command: "SUBSCRIBE", names: ["a b", "röom,1"] },
    });
    expect(parseSubscribeRequest("GET", "/PSubscribe/news:*", "text/html, text/event-stream;q=0.9")).toEqual({
      ok: true,
      request: { command: "PSUBSCRIBE", names: ["news:*"] },
    });
  });

  it("leaves requests that are not subscribe streams to the command routes", () => {
    expect(parseSubscribeRequest("POST", "/subscribe/a", undefined)).toBeNull();
    expect(parseSubscribeRequest("POST", "/subscribe/a", "application/json")).toBeNull();
    expect(parseSubscribeRequest("POST", "/subscribers/a", sse)).toBeNull();
    expect(parseSubscribeRequest("POST", "/pipeline", sse)).toBeNull();
  });

  it("reports a missing or malformed name and other methods", () => {
    expect(parseSubscribeRequest("POST", "/subscribe", sse)).toEqual({ ok: false, error: "ERR wrong number of arguments for 'subscribe' command" });
    expect(parseSubscribeRequest("POST", "/psubscribe//", sse)).toEqual({ ok: false, error: "ERR wrong number of arguments for 'psubscribe' command" });
    expect(parseSubscribeRequest("POST", "/subscribe/100%", sse)).toEqual({ ok: false, error: "ERR malformed path encoding" });
    expect(parseSubscribeRequest("DELETE", "/subscribe/a", sse)?.ok).toBe(false);
  });
});

describe("sseEvent", () => {
  it("writes one data line joined by commas, then a blank line", () => {
    expect(sseEvent(["subscribe", "ch", "1"])).toBe("data: subscribe,ch,1\n\n");
    expect(sseEvent(["pmessage", "n:*", "n:1", '{"a":"b,c"}'])).toBe('data: pmessage,n:*,n:1,{"a":"b,c"}\n\n');
  });

  it("escapes line breaks, so a payload cannot end its event or start another", () => {
    expect(sseEvent(["message", "ch", "a\r\ndata: message,x,forged"])).toBe("data: message,ch,a\\r\\ndata: message,x,forged\n\n");
  });
});

describe("faults", () => {
  it("rejects invalid and unknown fields", () => {
    expect(() => parseFaultConfig({ failureRate: 2 })).toThrow(/failureRate/);
    expect(() => parseFaultConfig({ down: "yes" })).toThrow(/down/);
    expect(() => parseFaultConfig({ latency: 5 })).toThrow(/unknown fault field 'latency'/);
    expect(() => parseFaultConfig({ dropReplyAfterApply: 1.5 })).toThrow(/dropReplyAfterApply/);
    expect(parseFaultConfig({ latencyMs: 5, match: "get" })).toEqual({ latencyMs: 5, match: "get" });
  });

  it("applies only to matching requests and uses up the drop budget", () => {
    const faults = new FaultInjector();
    faults.set({ dropReplyAfterApply: 2, match: "incr", latencyMs: 7 });
    expect(faults.decide(["GET"])).toEqual({ delayMs: 0, action: "none" });
    expect(faults.decide(["GET", "INCR"])).toEqual({ delayMs: 7, action: "drop-after-apply" });
    expect(faults.current().dropReplyAfterApply).toBe(1);
    expect(faults.decide(["INCR"]).action).toBe("drop-after-apply");
    expect(faults.decide(["INCR"])).toEqual({ delayMs: 7, action: "none" });
  });

  it("fails every request while down or at failure rate 1, and nothing after clear", () => {
    const faults = new FaultInjector();
    faults.set({ failureRate: 1 });
    expect(faults.decide(["GET"]).action).toBe("fail");
    faults.set({ down: "drop" });
    expect(faults.decide(["GET"]).action).toBe("drop");
    faults.clear();
    expect(faults.decide(["GET"])).toEqual({ delayMs: 0, action: "none" });
  });
});
