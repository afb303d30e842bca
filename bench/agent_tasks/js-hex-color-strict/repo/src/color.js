/** The red, green and blue parts (0-255) of a color written "#rrggbb". */
export function parseHexColor(text) {
  const hex = text.slice(1);
  return {
    r: parseInt(hex.slice(0, 2), 16),
    g: parseInt(hex.slice(2, 4), 16),
    b: parseInt(hex.slice(4, 6), 16),
  };
}

/** The color as "#rrggbb" again. */
export function toHex({ r, g, b }) {
  return "#" + [r, g, b].map((n) => n.toString(16).padStart(2, "0")).join("");
}
