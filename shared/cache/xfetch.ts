/**
 * XFetch, probabilistic early recomputation (Vattani, Chierichetti and Lowenstein, "Optimal
 * Probabilistic Cache Stampede Prevention", VLDB 2015): an entry is refreshed early when
 *
 *     now - delta * beta * ln(random()) >= expiry
 *
 * where delta is how long the value took to compute. Callers spread their refreshes ahead of
 * the expiry instead of all missing at once; beta > 1 favours earlier refreshes.
 *
 * The cache computes the multiplier `beta * -ln(random())` here and lets the read script test
 * `now + delta * multiplier >= expiry` against Redis time, in the same request.
 */

/**
 * The multiplier for one read; 0 (never early) when `beta` is 0.
 * @param beta 0 disables early refresh; 1 is the paper's default
 * @param random a uniform number in [0, 1) (injectable for tests)
 */
export function xfetchMultiplier(beta: number, random: () => number = Math.random): number {
  if (beta <= 0) return 0;
  // 1 - random() lies in (0, 1], so the logarithm is finite.
  return beta * -Math.log(1 - random());
}
