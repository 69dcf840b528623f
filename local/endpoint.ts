/**
 * A local, Upstash-compatible REST endpoint: a Node HTTP server that speaks the protocol
 * `@upstash/redis` uses and runs the commands on a real Redis. The unchanged Upstash clients
 * (and `@upstash/ratelimit`, `@upstash/lock`) work against it, in tests and in local dev,
 * including `subscribe()`/`psubscribe()` over server-sent events.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CONTROL_PREFIX, handleControl } from "./control";
import { encodingFromHeader, type ResponseEncoding } from "./encoding";
import { runPipeline, runSingle, runTransaction, type ExecutionContext, type RestReply } from "./execute";
import { FaultInjector, type FaultConfig } from "./faults";
import { presentedToken, readBody, sendJson, SyncTokens, tokensMatch } from "./http-io";
import { ConnectionPool } from "./pool";
import { keyLockingGuard, loadKeySpecs } from "./key-locking";
import { commandNames, parseCommandRequest, parseSubscribeRequest, type CommandRequest } from "./request";
import { ScriptRegistry } from "./scripts";
import { StatsCounter, type EndpointStats } from "./stats";
import { DEFAULT_MAX_STREAMS, SubscriptionStreams } from "./subscribe";

export type { FaultConfig } from "./faults";
export type { EndpointStats } from "./stats";

/** A running local endpoint. */
export interface LocalEndpoint {
  /** `http://127.0.0.1:<port>`: the `UPSTASH_REDIS_REST_URL` to use. */
  url: string;
  /** The `UPSTASH_REDIS_REST_TOKEN` to use. */
  token: string;
  port: number;
  /** Request and command counters (also at `GET /__control/stats`). */
  stats(): EndpointStats;
  resetStats(): void;
  /** Replaces the injected faults (also at `PUT /__control/faults`). */
  setFaults(f: FaultConfig): void;
  clearFaults(): void;
  /** Stops the HTTP server, ends subscribe streams, cuts open connections and closes the Redis connections. */
  close(): Promise<void>;
}

/** Options of {@link startLocalEndpoint}. */
export interface LocalEndpointOptions {
  /** The Redis to run commands on, e.g. `redis://127.0.0.1:6390`. */
  redisUrl: string;
  /** Bearer token clients must send. Default: 32 random bytes, hex. */
  token?: string;
  /** Port on 127.0.0.1. Default 0: a free port. */
  port?: number;
  /** Redis connections shared by ordinary requests, and the most transactions at once. Default 16. */
  poolSize?: number;
  /**
   * Most subscribe streams open at once (each holds a Redis connection); one more is answered
   * 429. Default 256.
   */
  maxStreams?: number;
}

/**
 * Starts the endpoint on 127.0.0.1 once its Redis connections are ready.
 * @throws Error when Redis cannot be reached at start.
 * @example
 * const redis = await startRedisServer();
 * const endpoint = await startLocalEndpoint({ redisUrl: redis.url });
 * const client = new Redis({ url: endpoint.url, token: endpoint.token }); // from @upstash/redis
 */
export async function startLocalEndpoint(opts: LocalEndpointOptions): Promise<LocalEndpoint> {
  const token = opts.token ?? randomBytes(32).toString("hex");
  const pool = await ConnectionPool.open({ redisUrl: opts.redisUrl, size: opts.poolSize ?? 16 });
  const stats = new StatsCounter();
  const faults = new FaultInjector();
  const syncTokens = new SyncTokens();
  const guard = await pool.withShared((conn) => loadKeySpecs(conn)).then(keyLockingGuard, async (error: unknown) => {
    await pool.close();
    throw error;
  });
  const ctx: ExecutionContext = { pool, scripts: new ScriptRegistry(guard), stats };
  const streams = new SubscriptionStreams({ pool, stats, maxStreams: opts.maxStreams ?? DEFAULT_MAX_STREAMS });

  // Idle keep-alive sockets are kept longer than clients keep theirs, so that a client never
  // reuses a socket the server is closing at that moment (a spurious "socket hang up").
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 500, { error: `internal error: ${String(error)}` }, syncTokens.next());
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!tokensMatch(presentedToken(req, url), token)) {
      return sendJson(res, 401, { error: "Unauthorized" }, syncTokens.next());
    }
    if (url.pathname.startsWith(CONTROL_PREFIX)) {
      return handleControl(req, res, url.pathname, { stats, faults }, syncTokens.next());
    }
    const subscribe = parseSubscribeRequest(req.method ?? "GET", url.pathname, req.headers.accept);
    if (subscribe) {
      if (!subscribe.ok) return sendJson(res, 400, { error: subscribe.error }, syncTokens.next());
      return streams.serve(req, res, subscribe.request, syncTokens.next());
    }

    const read = await readBody(req);
    if (!read.ok) return sendJson(res, 413, { error: "ERR request body is larger than 10 MB" }, syncTokens.next());
    const parsed = parseCommandRequest(req.method ?? "GET", url.pathname, read.body);
    if (!parsed.ok) return sendJson(res, 400, { error: parsed.error }, syncTokens.next());
    const finished = stats.startRequest();
    try {
      const fault = faults.decide(commandNames(parsed.request));
      if (fault.delayMs > 0) await sleep(fault.delayMs);
      if (fault.action === "fail") {
        return sendJson(res, 503, { error: "Service Unavailable (injected fault)" }, syncTokens.next());
      }
      if (fault.action === "drop") return void req.socket.destroy();

      const reply = await execute(parsed.request, encodingFromHeader(req.headers["upstash-encoding"]));
      // The write happened; only the answer is lost, as when a connection dies mid-reply.
      if (fault.action === "drop-after-apply") return void req.socket.destroy();
      sendJson(res, reply.status, reply.body, syncTokens.next());
    } finally {
      finished();
    }
  }

  function execute(request: CommandRequest, encoding: ResponseEncoding): Promise<RestReply> {
    switch (request.kind) {
      case "single":
        return runSingle(ctx, request.command, encoding);
      case "pipeline":
        return runPipeline(ctx, request.commands, encoding);
      case "transaction":
        return runTransaction(ctx, request.commands, encoding);
    }
  }

  try {
    await listen(server, opts.port ?? 0);
  } catch (error) {
    await pool.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    port,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setFaults: (f) => faults.set(f),
    clearFaults: () => faults.clear(),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      streams.closeAll();
      server.closeAllConnections();
      await closed;
      await pool.close();
    },
  };
}

function listen(server: ReturnType<typeof createServer>, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
