/** One item per key (keyFn(item)). */
export function uniqueBy(items, keyFn) {
  const seen = {};
  for (const item of items) {
    const key = keyFn(item);
    if (key) {
      seen[key] = item;
    }
  }
  return Object.values(seen);
}
