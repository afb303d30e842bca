/** Limit `value` to the range [min, max]. */
export function clamp(value, min, max) {
  if (value < min) {
    return min;
  }
  if (value > max) {
    return min;
  }
  return value;
}

/** The point at fraction `t` of the way from `start` to `end` (t is clamped to [0, 1]). */
export function lerp(start, end, t) {
  return start + (end - start) * clamp(t, 0, 1);
}
