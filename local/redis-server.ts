/**
 * Starts and stops a private `redis-server` process for local development and tests.
 *
 * Each call gets its own free loopback port and its own data directory, so several test
 * files (or a dev server and a test run) never share, flush or stop each other's Redis.
 *
 * The server is private in fact, not only by convention: it requires a random password
 * (`requirepass`), and the administration commands the REST endpoint never needs are removed
 * (`rename-command X ""`), so another local process cannot use it to write files
 * (`CONFIG SET dir` + `SAVE`) or load code (`MODULE LOAD`). The configuration, password
 * included, reaches redis-server on its standard input, never on its command line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants as fsConstants, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort } from "./ports";

/** A running private redis-server. */
export interface RedisServerHandle {
  /** `redis://:<password>@127.0.0.1:<port>` — give it to ioredis or to `startLocalEndpoint`. */
  url: string;
  port: number;
  /** The random `requirepass` password of this server (also in `url`). */
  password: string;
  /** The data directory (AOF files live here when `persist` is on). */
  dir: string;
  /** Stops the server (SIGTERM, SIGKILL after 3 s) and removes a temp `dir` unless kept. */
  stop(): Promise<void>;
  /** Resolves, with a reason, when the process exits for any cause (so a launcher can react). */
  exited: Promise<string>;
}

/** Options of {@link startRedisServer}. */
export interface StartRedisServerOptions {
  /** Data directory. Default: a fresh temp directory, removed on `stop()` unless `keepDir`. */
  dir?: string;
  /** Turn on the append-only file in `dir`, so data survives a restart. Default: false. */
  persist?: boolean;
  /** Keep the data directory after `stop()`. Default: false (a `dir` you passed is always kept). */
  keepDir?: boolean;
}

const MISSING_BINARY_MESSAGE =
  "No `redis-server` binary found on PATH. Install one (Debian/Ubuntu: `apt-get install redis-server`), " +
  "or point the tools at an existing Redis with REDIS_URL, or at a hosted endpoint with " +
  "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.";

/**
 * Commands removed from the private server: nothing in this repository sends them (the REST
 * endpoint refuses them too), and each lets a client act outside Redis's data: change where
 * files are written, load native code, crash or stall the process, or replicate elsewhere.
 */
export const DISABLED_COMMANDS: readonly string[] = ["CONFIG", "DEBUG", "MODULE", "REPLICAOF", "SLAVEOF", "ACL"];

const READY_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 3_000;

/** Children still running, killed if this process exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Finds an executable `redis-server` on PATH.
 * @returns its absolute path, or null when there is none.
 */
export function findRedisServerBinary(): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "redis-server");
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * Starts a private redis-server on a free 127.0.0.1 port and waits until it answers PING.
 * Persistence is off (no RDB snapshots, no AOF) unless `persist: true`.
 *
 * @throws Error with install instructions when no `redis-server` binary is on PATH.
 * @example
 * const redis = await startRedisServer();
 * // ... use redis.url ...
 * await redis.stop();
 */
export async function startRedisServer(opts: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = findRedisServerBinary();
  if (!binary) throw new Error(MISSING_BINARY_MESSAGE);

  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "local-redis-"));
  mkdirSync(dir, { recursive: true });

  // The free port is found by binding port 0 and releasing it; another process can take it
  // in between, so a failed start is retried on a new port.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const password = randomBytes(24).toString("hex");
    try {
      const child = await spawnAndWait(binary, { port, password, dir, persist: opts.persist === true });
      return {
        url: `redis://:${password}@127.0.0.1:${port}`,
        port,
        password,
        dir,
        exited: new Promise((resolve) =>
          child.once("exit", (code, signal) => resolve(`redis-server exited (${signal ?? `code ${code}`})`)),
        ),
        stop: async () => {
          await stopChild(child);
          if (ownsDir && !opts.keepDir) rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
    }
  }
  if (ownsDir && !opts.keepDir) rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server did not start: ${String(lastError)}`, { cause: lastError });
}

interface ServerSettings {
  port: number;
  password: string;
  dir: string;
  persist: boolean;
}

/** The redis.conf text for one private server (quoted values use redis.conf's escapes). */
function redisConfig(s: ServerSettings): string {
  const lines = [
    `port ${s.port}`,
    "bind 127.0.0.1",
    `dir ${quote(s.dir)}`,
    'save ""',
    `appendonly ${s.persist ? "yes" : "no"}`,
    "daemonize no",
    "loglevel warning",
    `requirepass ${quote(s.password)}`,
    ...DISABLED_COMMANDS.map((name) => `rename-command ${name} ""`),
  ];
  return lines.join("\n") + "\n";
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

async function spawnAndWait(binary: string, settings: ServerSettings): Promise<ChildProcess> {
  const { port, password } = settings;
  // "-": read the configuration from stdin, so the password never shows in `ps`.
  const child = spawn(binary, ["-"], { stdio: ["pipe", "pipe", "pipe"] });
  child.stdin?.on("error", () => {}); // an early exit is reported below, with its output
  child.stdin?.end(redisConfig(settings));
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-2_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  track(child);
  // A server someone forgot to stop must not keep this process alive; the exit hook kills it.
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited early: ${output.trim()}`);
    }
    if (await answersPing(port, password)) return child;
    await sleep(25);
  }
  await stopChild(child);
  throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms: ${output.trim()}`);
}

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test runner or dev script that dies should not leave Redis processes behind.
    process.once("exit", () => {
      for (const c of liveChildren) c.kill("SIGKILL");
    });
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** One raw RESP round trip (AUTH, then PING), so that startup needs no client library. */
function answersPing(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write(`AUTH ${JSON.stringify(password)}\r\nPING\r\n`));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      // "-LOADING" while an AOF is replayed: keep polling until "+PONG".
      const lines = reply.split("\r\n");
      if (lines.length >= 3) finish(lines[0] === "+OK" && lines[1] === "+PONG");
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
