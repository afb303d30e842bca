import { discounted } from "./discount.js";

/** The total in cents of lines {cents, qty}, with `percent` off. */
export function orderTotal(lines, percent) {
  const sum = lines.map((line) => line.cents * line.qty).reduce((a, b) => a + b);
  return discounted(sum, percent);
}
