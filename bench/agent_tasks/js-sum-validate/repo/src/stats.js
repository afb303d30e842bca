/** The total of an array of numbers. */
export function sum(numbers) {
  return numbers.reduce((total, n) => total + n, 0);
}

/** The average of an array of numbers (0 for an empty array). */
export function mean(numbers) {
  return numbers.length === 0 ? 0 : sum(numbers) / numbers.length;
}
