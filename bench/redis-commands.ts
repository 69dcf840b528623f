import Redis from "ioredis";

/**
 * Counts the commands Redis itself executed, from `INFO commandstats`: unlike the endpoint's
 * counters, this includes every `redis.call` inside a Lua script, which is what Upstash bills
 * (an EVAL plus each call it makes).
 */
export class RedisCommandCounter {
  readonly #client: Redis;

  constructor(redisUrl: string) {
    this.#client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  }

  /** Total commands executed so far, not counting the INFO calls this counter makes. */
  async total(): Promise<number> {
    if (this.#client.status === "wait") await this.#client.connect();
    const info = await this.#client.info("commandstats");
    let calls = 0;
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (match[1] !== "info") calls += Number(match[2]);
    }
    return calls;
  }

  close(): void {
    this.#client.disconnect();
  }
}
