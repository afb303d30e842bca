/** `cents` with `percent` off. */
export function discounted(cents, percent) {
  return cents - cents * percent;
}
