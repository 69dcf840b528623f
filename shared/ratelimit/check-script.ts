import { LuaScript } from "../script";
import { FIXED_WINDOW_LUA } from "./fixed-window";
import { SLIDING_WINDOW_LUA } from "./sliding-window";
import { TOKEN_BUCKET_LUA } from "./token-bucket";

/**
 * The one script every check runs: any mix of policies, decided together and atomically.
 *
 * Time comes from `TIME` inside the script (Redis 7 replicates a script's effects, so reading
 * TIME before writing is allowed), never from the caller: Workers' clocks stand still between
 * I/O and differ between isolates. All states are read with one MGET; the new states are
 * written only when the mode is "limit" and every policy allows, so a check denied by one
 * policy spends nothing from the others. A denied check writes nothing at all.
 *
 * KEYS[i]: state key of policy i (a string value; missing means "nothing spent").
 * ARGV[1]: "limit" (spend `cost` from every policy if all allow) or "peek" (spend nothing;
 *          allowed means one more unit fits, retry is the wait for one unit).
 * ARGV[2]: cost, an integer; 0 for "peek"; negative only when every policy is a token bucket.
 * ARGV[3 + 4(i-1)]: policy i's algorithm code ("fw", "sw" or "tb": a function of `A`).
 * ARGV[4 + 4(i-1)] .. ARGV[6 + 4(i-1)]: policy i's parameters p1, p2, p3 (see its algorithm).
 *
 * Each algorithm's function returns allowed, remaining, reset_ms (until the full limit is back),
 * retry_ms (until this cost fits; 0 when allowed), block_ms (until one unit fits; 0 if it fits
 * now), the new state string and its TTL in ms.
 *
 * Returns a flat array of integers: [all allowed (1/0), then for each policy: allowed (1/0),
 * remaining, reset_ms, retry_ms, block_ms].
 */
export const CHECK_LUA = `
local A = {}
${FIXED_WINDOW_LUA}
${SLIDING_WINDOW_LUA}
${TOKEN_BUCKET_LUA}
local mode, cost = ARGV[1], tonumber(ARGV[2])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local states = redis.call("MGET", unpack(KEYS))
local out, writes, all = { 1 }, {}, true
for i = 1, #KEYS do
  local a = 3 + (i - 1) * 4
  local allowed, remaining, reset, retry, block, state, ttl =
    A[ARGV[a]](states[i], now, tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), cost)
  if mode == "peek" then
    allowed, retry = remaining >= 1, block
  end
  all = all and allowed
  local o = #out
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = allowed and 1 or 0, remaining, reset, retry, block
  writes[i] = { state, ttl }
end
if not all then out[1] = 0 end
if mode == "limit" and all then
  for i = 1, #KEYS do
    redis.call("SET", KEYS[i], writes[i][1], "PX", math.max(1, writes[i][2]))
  end
end
return out
`;

/** The check script, run by EVALSHA with EVAL on NOSCRIPT. */
export const CHECK_SCRIPT = new LuaScript<number[]>("ratelimit-check", CHECK_LUA);

/** Fields per policy in the script's reply, after the leading "all allowed". */
export const FIELDS_PER_POLICY = 5;
