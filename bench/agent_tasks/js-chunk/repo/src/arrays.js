/** The truthy items, in order. */
export function compact(items) {
  return items.filter(Boolean);
}

/** The items without repeats, in order of first appearance. */
export function unique(items) {
  return [...new Set(items)];
}
