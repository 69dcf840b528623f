import { Redis, type Requester } from "@upstash/redis";
import { RestRequester, type RestOptions } from "./requester";

/**
 * The Redis client every core piece receives by injection: `@upstash/redis`'s `Redis`. Cores
 * type their dependency as a `Pick` of the commands they use, so tests and other runtimes can
 * pass anything that speaks those commands.
 */
export type RedisClient = Redis;

/** Only what a script needs: EVALSHA, and EVAL after NOSCRIPT. */
export type ScriptClient = Pick<RedisClient, "evalsha" | "eval">;

/**
 * `@upstash/redis` over {@link RestRequester}, with replies returned exactly as Redis sent them
 * (`automaticDeserialization: false`): the cores rely on that to return values and scores
 * exactly as stored. Each command is one request.
 */
class RawRedis extends Redis {
  constructor(requester: Requester) {
    super(requester);
    // The constructor taking a requester accepts no options; commands read these per call.
    this.opts = { automaticDeserialization: false };
  }
}

/**
 * The one factory of Redis clients: timeouts, retries and the classification of failures
 * (see {@link RestRequester}) are decided here, once.
 *
 * @example
 * const redis = createRedis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
 * const cache = new Cache(redis);
 */
export function createRedis(options: RestOptions): RedisClient {
  return new RawRedis(new RestRequester(options));
}

/**
 * Throws a TypeError unless `redis` returns replies as Redis sent them. An `@upstash/redis`
 * client made with its default `automaticDeserialization: true` parses every string that looks
 * like JSON, so cached values and scores would come back changed; the cores refuse it when
 * they are built instead of failing later on a value.
 */
export function assertRawReplies(redis: object): void {
  const opts = (redis as { opts?: { automaticDeserialization?: boolean } }).opts;
  if (opts !== undefined && opts.automaticDeserialization !== false) {
    throw new TypeError(
      "this Redis client parses replies as JSON: create it with automaticDeserialization: false, or with createRedis()",
    );
  }
}
