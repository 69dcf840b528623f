/**
 * Pub/sub over server-sent events, end to end: the unchanged `@upstash/redis` client's
 * subscribe() and psubscribe() against the local endpoint and a real Redis, plus the raw
 * protocol (framing, auth, refusals, the stream cap, close).
 */
import { Redis } from "@upstash/redis";
import IORedis from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { command, keyPrefix, rest, startLocalStack, type LocalStack } from "./local-stack";
import { waitFor } from "./processes";

type Subscriber = ReturnType<Redis["subscribe"]>;
interface Received {
  channel: string;
  message: unknown;
  pattern?: string;
}
interface Listening {
  sub: Subscriber;
  received: Received[];
  counts: number[];
  errors: Error[];
}

const WAIT_MS = 10_000;
let stack: LocalStack;
let redis: Redis;
const p = keyPrefix();
/** Subscribers a test opened; each test ends them all and waits for their streams to close. */
const opened: Subscriber[] = [];

beforeAll(async () => {
  stack = await startLocalStack();
  redis = client(stack);
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((sub) => sub.unsubscribe()));
  await waitFor(() => stack.endpoint.stats().openStreams === 0, "every stream to end", WAIT_MS);
});

afterAll(async () => {
  await stack?.stop();
});

function client(on: LocalStack, options: { responseEncoding?: false; automaticDeserialization?: boolean; token?: string } = {}): Redis {
  const { token = on.endpoint.token, ...rest } = options;
  return new Redis({ url: on.endpoint.url, token, enableTelemetry: false, ...rest });
}

/** Starts subscribe() (or psubscribe()) and records what arrives, without waiting. */
function listen(by: Redis, names: string[], kind: "subscribe" | "psubscribe" = "subscribe"): Listening {
  const listening: Listening = {
    sub: kind === "subscribe" ? by.subscribe(names) : by.psubscribe(names),
    received: [],
    counts: [],
    errors: [],
  };
  opened.push(listening.sub);
  if (kind === "subscribe") {
    listening.sub.on("message", (event) => listening.received.push(event));
    listening.sub.on("subscribe", (count) => listening.counts.push(count));
  } else {
    listening.sub.on("pmessage", (event) => listening.received.push(event));
    listening.sub.on("psubscribe", (count) => listening.counts.push(count));
  }
  listening.sub.on("error", (error) => listening.errors.push(error));
  return listening;
}

/**
 * Subscribes and waits until every name is confirmed. The endpoint confirms only once Redis
 * has, so whatever is published afterwards is delivered.
 */
async function subscribed(by: Redis, names: string[], kind: "subscribe" | "psubscribe" = "subscribe"): Promise<Listening> {
  const listening = listen(by, names, kind);
  await waitFor(() => listening.counts.length === names.length || listening.errors.length > 0, `${kind} ${names.join(" ")}`, WAIT_MS);
  if (listening.errors.length > 0) throw listening.errors[0];
  return listening;
}

async function received(listening: Listening, count: number): Promise<Received[]> {
  await waitFor(() => listening.received.length >= count, `${count} message(s)`, WAIT_MS);
  return listening.received;
}

async function numsub(channel: string): Promise<number> {
  const reply: [string, number] = await command(stack.endpoint, "PUBSUB", "NUMSUB", channel);
  return reply[1];
}

/** A raw event-stream request; `text()` is everything read so far. */
async function openStream(path: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(`${stack.endpoint.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.endpoint.token}`, accept: "text/event-stream", ...headers },
    body: "[]",
    signal: controller.signal,
  });
  let text = "";
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  return {
    res,
    text: () => text,
    ended: () => ended,
    until: (what: string) => waitFor(() => text.includes(what), `'${what}' on the stream`, WAIT_MS),
    abort: async () => {
      controller.abort();
      await reading;
    },
  };
}

describe.each([
  { name: "base64 responses (the client's default)", responseEncoding: undefined },
  { name: "plain responses", responseEncoding: false as const },
])("subscribe() with $name", ({ responseEncoding }) => {
  it("delivers each message with its channel, payloads with commas and JSON intact", async () => {
    const by = client(stack, { responseEncoding });
    const channel = `${p}news:${responseEncoding ?? "base64"}`;
    const listening = await subscribed(by, [channel]);
    expect(listening.counts).toEqual([1]);

    const json = { user: "ada", tags: ["a,b", "ü"], note: 'say "hi", twice', n: 3 };
    expect(await by.publish(channel, "first, second, third")).toBe(1);
    expect(await by.publish(channel, json)).toBe(1);

    expect(await received(listening, 2)).toEqual([
      { channel, message: "first, second, third" },
      { channel, message: json },
    ]);
  });
});

describe("subscribe()", () => {
  it("delivers every message to each subscriber of the channel, once", async () => {
    const channel = `${p}fanout`;
    const subscribers = await Promise.all([1, 2, 3].map(() => subscribed(redis, [channel])));
    expect(await numsub(channel)).toBe(3);
    expect(await redis.publish(channel, "to all")).toBe(3);
    expect(await redis.publish(channel, "again")).toBe(3);
    for (const listening of subscribers) {
      expect(await received(listening, 2)).toEqual([
        { channel, message: "to all" },
        { channel, message: "again" },
      ]);
    }
  });

  it("never delivers messages of another channel", async () => {
    const [a, b] = [`${p}only:a`, `${p}only:b`];
    const onA = await subscribed(redis, [a]);
    const onB = await subscribed(redis, [b]);
    // Redis handles the PUBLISHes in order, so a message on b meant for onA would reach it
    // before the one on a it waits for.
    await redis.publish(b, "for b");
    await redis.publish(a, "for a");
    expect(await received(onA, 1)).toEqual([{ channel: a, message: "for a" }]);
    expect(await received(onB, 1)).toEqual([{ channel: b, message: "for b" }]);
  });

  it("subscribes to names with spaces, quotes, braces and non-ASCII characters", async () => {
    // The client puts names into the URL as they are; fetch percent-encodes these.
    const channel = `${p}röom 1:"{é}"<x>`;
    const listening = await subscribed(redis, [channel]);
    expect(await numsub(channel)).toBe(1);
    await redis.publish(channel, "hello");
    expect(await received(listening, 1)).toEqual([{ channel, message: "hello" }]);
  });

  it("keeps a payload with line breaks in one event, with the breaks escaped", async () => {
    const channel = `${p}lines`;
    const raw = client(stack, { automaticDeserialization: false });
    const plain = await subscribed(raw, [channel]);
    const parsed = await subscribed(redis, [channel]);
    // Unescaped, the second line would read as a message on another channel.
    await raw.publish(channel, `one\r\ndata: message,${p}forged,two`);
    // A JSON string with raw line breaks becomes valid JSON of the same text.
    await raw.publish(channel, '"a\nb"');
    expect(await received(plain, 2)).toEqual([
      { channel, message: `one\\r\\ndata: message,${p}forged,two` },
      { channel, message: '"a\\nb"' },
    ]);
    expect((await received(parsed, 2))[1]).toEqual({ channel, message: "a\nb" });
  });
});

describe("psubscribe()", () => {
  it("delivers pmessage with pattern and channel, for matching channels only", async () => {
    const pattern = `${p}room:*`;
    const listening = await subscribed(redis, [pattern], "psubscribe");
    expect(listening.counts).toEqual([1]);
    await redis.publish(`${p}hall:1`, "not matching");
    expect(await redis.publish(`${p}room:1`, { text: "hi, all" })).toBe(1);
    expect(await received(listening, 1)).toEqual([{ pattern, channel: `${p}room:1`, message: { text: "hi, all" } }]);
  });
});

describe("ending a subscription", () => {
  it("unsubscribe() ends the stream and its Redis subscription", async () => {
    const channel = `${p}leave`;
    const listening = await subscribed(redis, [channel]);
    expect(await numsub(channel)).toBe(1);
    expect(stack.endpoint.stats().openStreams).toBe(1);

    await listening.sub.unsubscribe();
    await waitFor(async () => (await numsub(channel)) === 0, "NUMSUB 0", WAIT_MS);
    await waitFor(() => stack.endpoint.stats().openStreams === 0, "no open stream", WAIT_MS);
    expect(await redis.publish(channel, "anyone?")).toBe(0);
  });

  it("unsubscribe([channel]) ends only that channel's stream", async () => {
    const [keep, leave] = [`${p}keep`, `${p}drop`];
    const listening = await subscribed(redis, [keep, leave]);
    expect(stack.endpoint.stats().openStreams).toBe(2);

    await listening.sub.unsubscribe([leave]);
    await waitFor(async () => (await numsub(leave)) === 0, "NUMSUB 0", WAIT_MS);
    expect(await numsub(keep)).toBe(1);
    await redis.publish(keep, "still here");
    expect(await received(listening, 1)).toEqual([{ channel: keep, message: "still here" }]);
  });

  it("close() ends open streams instead of waiting for their clients", async () => {
    const own = await startLocalStack();
    const direct = new IORedis(own.redis.url, { lazyConnect: true });
    try {
      const listening = await subscribed(client(own), [`${p}closing`]);
      const res = await fetch(`${own.endpoint.url}/subscribe/${p}raw`, {
        method: "POST",
        headers: { authorization: `Bearer ${own.endpoint.token}`, accept: "text/event-stream" },
      });
      const body = res.text();
      expect(own.endpoint.stats().openStreams).toBe(2);

      await own.endpoint.close();
      // The raw stream's body ends cleanly, or is cut: either way it does not hang.
      await body.catch(() => "");
      await direct.connect();
      await waitFor(async () => {
        const reply = (await direct.call("PUBSUB", "NUMSUB", `${p}closing`, `${p}raw`)) as Array<string | number>;
        return reply[1] === 0 && reply[3] === 0;
      }, "NUMSUB 0 after close", WAIT_MS);
      await listening.sub.unsubscribe();
    } finally {
      direct.disconnect();
      await own.stop();
    }
  });
});

describe("the event stream over raw HTTP", () => {
  it("confirms each name with a running count, then frames each message as one data line", async () => {
    const [a, b] = [`${p}raw:a`, `${p}raw:b`];
    const stream = await openStream(`/subscribe/${a}/${b}`, { "upstash-encoding": "base64" });
    try {
      expect(stream.res.status).toBe(200);
      expect(stream.res.headers.get("content-type")).toBe("text/event-stream");
      await stream.until(`subscribe,${b},2`);
      await command(stack.endpoint, "PUBLISH", b, "x,y");
      await stream.until("x,y");
      // Payloads stay plain even with Upstash-Encoding: base64: the client does not decode them.
      expect(stream.text()).toBe(`data: subscribe,${a},1\n\ndata: subscribe,${b},2\n\ndata: message,${b},x,y\n\n`);
    } finally {
      await stream.abort();
    }
  });

  it("frames pattern messages as pmessage,{pattern},{channel},{payload}", async () => {
    const stream = await openStream(`/PSUBSCRIBE/${p}pat:*`);
    try {
      await stream.until(`psubscribe,${p}pat:*,1`);
      await command(stack.endpoint, "PUBLISH", `${p}pat:7`, "hey");
      await stream.until("hey");
      expect(stream.text()).toContain(`data: pmessage,${p}pat:*,${p}pat:7,hey\n\n`);
    } finally {
      await stream.abort();
    }
  });

  it("answers 401 without a token or with a wrong one", async () => {
    for (const authorization of [undefined, "Bearer wrong"]) {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (authorization) headers.authorization = authorization;
      const res = await fetch(`${stack.endpoint.url}/subscribe/${p}secret`, { method: "POST", headers, body: "[]" });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "Unauthorized" });
    }
    const listening = listen(client(stack, { token: "wrong" }), [`${p}secret`]);
    await waitFor(() => listening.errors.length > 0, "the client's error event", WAIT_MS);
    expect(listening.errors[0]?.message).toMatch(/^Unauthorized/);
    expect(stack.endpoint.stats().openStreams).toBe(0);
  });

  it("answers 400 to a subscribe request without a name or with a malformed one", async () => {
    for (const path of ["/subscribe", "/subscribe/", "/psubscribe//", "/subscribe/100%"]) {
      const res = await rest(stack.endpoint, path, { body: "[]", headers: { accept: "text/event-stream" } });
      expect(res.status, path).toBe(400);
      expect(res.json.error).toMatch(/^ERR /);
    }
  });

  it("still refuses SUBSCRIBE and PSUBSCRIBE as commands", async () => {
    const single = await rest(stack.endpoint, "/", { body: ["SUBSCRIBE", `${p}c`] });
    expect(single).toMatchObject({ status: 400, json: { error: "ERR command 'SUBSCRIBE' is not available over the REST API" } });
    const pipeline = await rest(stack.endpoint, "/pipeline", { body: [["PSUBSCRIBE", `${p}*`], ["PING"]] });
    expect(pipeline.json).toEqual([{ error: "ERR command 'PSUBSCRIBE' is not available over the REST API" }, { result: "PONG" }]);
    // Path style without Accept: text/event-stream is an ordinary command.
    const pathStyle = await rest(stack.endpoint, `/subscribe/${p}c`, { body: "[]" });
    expect(pathStyle.status).toBe(400);
    expect(pathStyle.json.error).toContain("is not available over the REST API");
  });

  it("counts subscribe requests and open streams, apart from command requests", async () => {
    stack.endpoint.resetStats();
    const listening = await subscribed(redis, [`${p}count:1`, `${p}count:2`]);
    expect(stack.endpoint.stats()).toMatchObject({ subscribeRequests: 2, openStreams: 2, requests: 0, commands: 0, inFlight: 0 });
    expect((await rest(stack.endpoint, "/__control/stats")).json).toMatchObject({ subscribeRequests: 2, openStreams: 2 });
    await listening.sub.unsubscribe();
    await waitFor(() => stack.endpoint.stats().openStreams === 0, "no open stream", WAIT_MS);
    expect(stack.endpoint.stats().subscribeRequests).toBe(2);
  });
});

describe("the stream cap", () => {
  it("answers 429 with a clear error beyond maxStreams, and frees a slot when a stream ends", async () => {
    const own = await startLocalStack({ maxStreams: 2 });
    try {
      const by = client(own);
      const first = await subscribed(by, [`${p}cap:1`]);
      await subscribed(by, [`${p}cap:2`]);

      const refused = listen(by, [`${p}cap:3`]);
      await waitFor(() => refused.errors.length > 0, "the client's error event", WAIT_MS);
      expect(refused.errors[0]?.message).toMatch(/^ERR too many subscribe streams: 2 are open/);
      const res = await fetch(`${own.endpoint.url}/subscribe/${p}cap:3`, {
        method: "POST",
        headers: { authorization: `Bearer ${own.endpoint.token}`, accept: "text/event-stream" },
      });
      expect(res.status).toBe(429);
      expect((await res.json()).error).toContain("too many subscribe streams");
      expect(own.endpoint.stats()).toMatchObject({ subscribeRequests: 4, openStreams: 2 });

      await first.sub.unsubscribe();
      await waitFor(() => own.endpoint.stats().openStreams === 1, "a free slot", WAIT_MS);
      const again = await subscribed(by, [`${p}cap:3`]);
      await by.publish(`${p}cap:3`, "in");
      expect(await received(again, 1)).toEqual([{ channel: `${p}cap:3`, message: "in" }]);
    } finally {
      await Promise.all(opened.splice(0).map((sub) => sub.unsubscribe()));
      await own.stop();
    }
  });
});
