/** A TCP port from text. */
export function parsePort(text) {
  return Number(text);
}
