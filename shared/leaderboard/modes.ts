/**
 * Boards' orders and submit modes, reduced to what the submit script applies.
 *
 * Scores are stored signed so that "better" is always "higher" (see `score.ts`); each mode
 * then becomes one operation on signed units, the same for both orders except `min`.
 */

/** `desc`: higher scores rank first (points). `asc`: lower scores rank first (lap times). */
export type Order = "desc" | "asc";

/**
 * How a submit combines with the member's stored score:
 * - `best`: keep the better of the two (higher on desc boards, lower on asc boards);
 * - `sum`: add the submitted score (an increment, possibly negative);
 * - `last`: replace;
 * - `min`: keep the lower of the two, whatever the order.
 */
export type SubmitMode = "best" | "sum" | "last" | "min";

/** Every submit mode. */
export const SUBMIT_MODES: readonly SubmitMode[] = ["best", "sum", "last", "min"];

/** What the submit script does with signed units: keep the higher, the lower, add, or replace. */
export type UnitOp = "max" | "min" | "sum" | "last";

/** +1 for desc boards, -1 for asc boards: stored units = sign × submitted units. */
export function orderSign(order: Order): 1 | -1 {
  return order === "asc" ? -1 : 1;
}

/** Stored (signed) units from submitted units; never -0. */
export function toStored(units: number, order: Order): number {
  const stored = orderSign(order) * units;
  return stored === 0 ? 0 : stored;
}

/** Submitted units from stored (signed) units. */
export function fromStored(stored: number, order: Order): number {
  const units = orderSign(order) * stored;
  return units === 0 ? 0 : units;
}

const OPS: Record<Order, Record<SubmitMode, UnitOp>> = {
  // Better is higher in signed space for both orders, so `best` is always max.
  desc: { best: "max", sum: "sum", last: "last", min: "min" },
  // On an asc board stored = -score: the lower score is the higher stored value.
  asc: { best: "max", sum: "sum", last: "last", min: "max" },
};

/** The operation the submit script applies for `mode` on a board of `order`. */
export function unitOp(mode: SubmitMode, order: Order): UnitOp {
  return OPS[order][mode];
}
