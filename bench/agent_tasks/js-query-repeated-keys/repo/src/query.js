/** "a=1&b=two" -> { a: "1", b: "two" }. */
export function parseQuery(query) {
  const result = {};
  for (const pair of query.split("&")) {
    const [key, value] = pair.split("=");
    result[key] = value;
  }
  return result;
}

/** { a: "1", b: "two" } -> "a=1&b=two". */
export function stringifyQuery(params) {
  return Object.entries(params)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join("&");
}
