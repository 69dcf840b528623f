/** The Redis client the cores take by injection, its one factory, and the errors it classifies. */
export { assertRawReplies, createRedis, type RedisClient, type ScriptClient } from "./client";
export { decode, RestRequester, type RestOptions } from "./requester";
export { InvalidInputError, isRedisUnavailable, RedisAuthError, RedisUnavailableError, type UnavailableReason } from "../errors";
