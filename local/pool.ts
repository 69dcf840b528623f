/**
 * Redis connections of the local endpoint: a fixed set shared by ordinary requests,
 * connections leased one transaction at a time for `/multi-exec`, and one connection of its
 * own per subscribe stream.
 *
 * Ordinary commands can share a connection because Redis answers in order; a MULTI/EXEC block
 * cannot, since any command another request slipped onto the same connection would join the
 * transaction. So each transaction gets a connection nobody else uses until EXEC has answered.
 */
// The default export: a named `Redis` import is not a constructor under every ESM/CJS interop
// (vitest's module runner, for one).
import Redis, { type RedisOptions } from "ioredis";

/** Options of {@link ConnectionPool.open}. */
export interface ConnectionPoolOptions {
  /** `redis://host:port` of the Redis behind the endpoint. */
  redisUrl: string;
  /** Number of shared connections, and the most transaction connections open at once. */
  size: number;
  /** A command without a reply after this long fails. Default 5000 ms. */
  commandTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 2_000;
const LEASE_WAIT_TIMEOUT_MS = 10_000;

/** Shared and leased ioredis connections to one Redis. */
export class ConnectionPool {
  private readonly inFlight: number[];
  private nextIndex = 0;
  private readonly idleDedicated: Redis[] = [];
  /** Every open transaction connection, idle or leased, so close() reaches them all. */
  private readonly allDedicated = new Set<Redis>();
  private dedicatedOpen = 0;
  private readonly waiters: Array<(conn: Redis | Error) => void> = [];
  /** Open subscriber connections, so close() reaches them too. */
  private readonly subscribers = new Set<Redis>();
  private closed = false;

  private constructor(
    private readonly options: ConnectionPoolOptions,
    private readonly shared: Redis[],
  ) {
    this.inFlight = shared.map(() => 0);
  }

  /**
   * Opens the shared connections and waits until they are ready.
   * @throws Error when Redis cannot be reached at all (a wrong URL is the likely cause).
   */
  static async open(options: ConnectionPoolOptions): Promise<ConnectionPool> {
    const size = Math.max(1, Math.floor(options.size));
    const shared = Array.from({ length: size }, () => createConnection(options, true));
    const pool = new ConnectionPool({ ...options, size }, shared);
    try {
      await Promise.all(shared.map((conn) => conn.connect()));
    } catch (error) {
      await pool.close();
      throw new Error(`cannot reach Redis at ${redactUrl(options.redisUrl)}: ${String(error)}`, { cause: error });
    }
    return pool;
  }

  /**
   * Runs `work` on the shared connection with the fewest requests in flight (ties rotate).
   * Commands `work` sends without awaiting in between reach Redis back to back, in order.
   */
  async withShared<T>(work: (conn: Redis) => Promise<T>): Promise<T> {
    const index = this.leastBusyIndex();
    const conn = this.shared[index] as Redis;
    this.inFlight[index] = (this.inFlight[index] ?? 0) + 1;
    try {
      return await work(conn);
    } finally {
      this.inFlight[index] = (this.inFlight[index] ?? 1) - 1;
    }
  }

  /**
   * Runs `work` on a connection leased to it alone, waiting for one if all are in use.
   * If `work` throws, the connection may be mid-transaction, so it is closed, not reused.
   */
  async withDedicated<T>(work: (conn: Redis) => Promise<T>): Promise<T> {
    const conn = await this.lease();
    let reusable = false;
    try {
      const result = await work(conn);
      reusable = true;
      return result;
    } finally {
      this.giveBack(conn, reusable);
    }
  }

  /**
   * Opens a connection for one subscriber, with the same connection settings as every other
   * connection of the pool. A subscribed connection can run nothing but subscription commands,
   * so it is never shared or reused: the caller disconnects it when done, and it is not
   * reconnected if it drops (it then emits `end`). close() disconnects it too.
   * @throws Error when Redis cannot be reached or the pool is closed.
   */
  async openSubscriber(): Promise<Redis> {
    if (this.closed) throw new Error("connection pool closed");
    const conn = createConnection(this.options, false);
    this.subscribers.add(conn);
    conn.once("end", () => this.subscribers.delete(conn));
    try {
      await conn.connect();
      return conn;
    } catch (error) {
      this.subscribers.delete(conn);
      conn.disconnect();
      throw error;
    }
  }

  /** Closes every connection; requests still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(new Error("connection pool closed"));
    this.idleDedicated.length = 0;
    for (const conn of [...this.shared, ...this.allDedicated, ...this.subscribers]) conn.disconnect();
    this.allDedicated.clear();
    this.subscribers.clear();
  }

  private leastBusyIndex(): number {
    const count = this.shared.length;
    let best = this.nextIndex % count;
    for (let step = 1; step < count; step++) {
      const i = (this.nextIndex + step) % count;
      if ((this.inFlight[i] ?? 0) < (this.inFlight[best] ?? 0)) best = i;
    }
    this.nextIndex = (best + 1) % count;
    return best;
  }

  private async lease(): Promise<Redis> {
    if (this.closed) throw new Error("connection pool closed");
    while (this.idleDedicated.length > 0) {
      const conn = this.idleDedicated.pop() as Redis;
      if (conn.status === "ready") return conn;
      this.discard(conn);
    }
    if (this.dedicatedOpen < this.options.size) {
      this.dedicatedOpen++;
      const conn = createConnection(this.options, false);
      this.allDedicated.add(conn);
      try {
        await conn.connect();
        return conn;
      } catch (error) {
        this.discard(conn);
        throw error;
      }
    }
    return this.waitForRelease();
  }

  private waitForRelease(): Promise<Redis> {
    return new Promise((resolve, reject) => {
      const waiter = (conn: Redis | Error) => {
        clearTimeout(timer);
        if (conn instanceof Error) reject(conn);
        else resolve(conn);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(new Error(`no transaction connection free within ${LEASE_WAIT_TIMEOUT_MS} ms`));
      }, LEASE_WAIT_TIMEOUT_MS);
      this.waiters.push(waiter);
    });
  }

  private giveBack(conn: Redis, reusable: boolean): void {
    if (!reusable || this.closed || conn.status !== "ready") {
      this.discard(conn);
      // The freed slot lets a waiter open a fresh connection.
      const waiter = this.waiters.shift();
      if (waiter) this.lease().then(waiter, waiter);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(conn);
    else this.idleDedicated.push(conn);
  }

  private discard(conn: Redis): void {
    this.dedicatedOpen--;
    this.allDedicated.delete(conn);
    conn.disconnect();
  }
}

function createConnection(options: ConnectionPoolOptions, reconnect: boolean): Redis {
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    // Fail fast while Redis is unreachable instead of queueing: the endpoint answers 503 at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A command whose connection dropped may or may not have run; never send it twice.
    autoResendUnfulfilledCommands: false,
    // Shared connections come back by themselves when Redis does; a transaction connection that
    // dropped is simply replaced by the next lease, and a subscriber's stream ends with it.
    retryStrategy: reconnect ? (attempt) => Math.min(attempt * 100, 1_000) : () => null,
  };
  const conn = new Redis(options.redisUrl, redisOptions);
  // Without a listener ioredis prints every connection error; requests report them instead.
  conn.on("error", () => {});
  return conn;
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
