import { InvalidInputError } from "../errors";

/**
 * Score encoding.
 *
 * A score is stored as an integer count of thousandths ("units"), signed so that a better
 * score is always a higher number in the sorted set (ascending boards store the negation).
 * Integers below 2^53 are exact in a double, in Redis and in Lua alike, so:
 *
 * - every accepted score comes back exactly as submitted: `units / 1000` is the double the
 *   client sent (checked on the way in), and JSON prints it the same way;
 * - `sum` adds integers, so 0.1 + 0.2 is 0.3 and K concurrent increments add up exactly.
 *
 * The accepted range is ±{@link MAX_SCORE} with at most {@link SCORE_DECIMALS} decimal
 * places, and a sum must stay inside it too. Within ±10^12 a double's spacing is below a
 * thousandth, so every such decimal maps to its own double and back (beyond it, 1e12 + 0.001
 * could not even be told apart from its neighbours in JSON).
 *
 * Ties are not part of the score: the sorted-set member carries a time stamp (see
 * `submit.ts`), so scores keep the full range.
 */

/** Decimal places a score may have. */
export const SCORE_DECIMALS = 3;

/** Largest absolute score accepted or produced by a sum: 10^12. */
export const MAX_SCORE = 1_000_000_000_000;

const SCALE = 10 ** SCORE_DECIMALS;

/** {@link MAX_SCORE} in units (10^15, below 2^53 ≈ 9.007 × 10^15). */
export const MAX_UNITS = MAX_SCORE * SCALE;

/**
 * Validates a submitted score and returns it in units (an exact integer).
 * @throws InvalidInputError unless a finite number within ±MAX_SCORE with ≤ 3 decimals.
 */
export function scoreToUnits(score: unknown, field = "score"): number {
  if (typeof score !== "number" || !Number.isFinite(score)) {
    throw new InvalidInputError(`${field} must be a finite number`, field);
  }
  if (Math.abs(score) > MAX_SCORE) {
    throw new InvalidInputError(`${field} must be between -${MAX_SCORE} and ${MAX_SCORE}`, field);
  }
  const units = Math.round(score * SCALE);
  if (units / SCALE !== score) {
    throw new InvalidInputError(`${field} must have at most ${SCORE_DECIMALS} decimal places`, field);
  }
  return units === 0 ? 0 : units; // no -0
}

/** Units (as Redis or Lua print them) back to the submitted score. */
export function unitsToScore(units: string | number): number {
  const score = Number(units) / SCALE;
  return score === 0 ? 0 : score;
}
