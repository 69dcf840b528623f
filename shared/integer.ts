import { InvalidInputError } from "./errors";

/** Whether `value` is an integer from `min` to `max`: the one range check of the cores. */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** `value` when it is an integer from `min` to `max`; otherwise an InvalidInputError naming `field`. */
export function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (!isIntegerIn(value, min, max)) throw new InvalidInputError(`${field} must be an integer from ${min} to ${max}`, field);
  return value;
}
