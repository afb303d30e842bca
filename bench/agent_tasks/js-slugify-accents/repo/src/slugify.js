/** A URL-friendly form of a title: "Hello World" -> "hello-world". */
export function slugify(text) {
  return text
    .toLowerCase()
    .trim()
    .replace(/\s+/g, "-")
    .replace(/[^a-z0-9-]/g, "");
}
