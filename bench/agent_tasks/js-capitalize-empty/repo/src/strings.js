/** "hello" -> "Hello". */
export function capitalize(text) {
  return text[0].toUpperCase() + text.slice(1);
}

/** "hello big world" -> "Hello Big World" (spacing is kept). */
export function titleCase(text) {
  return text.split(" ").map(capitalize).join(" ");
}
