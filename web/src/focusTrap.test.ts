// @vitest-environment jsdom
import { expect, test } from "vitest";
import { tabStops, wrapTarget } from "./focusTrap";

function dialog(): HTMLElement {
  const box = document.createElement("div");
  box.innerHTML =
    '<textarea id="t"></textarea><button id="use">Use</button><button disabled>Off</button>' +
    '<span tabindex="-1">skipped</span><button id="not-now">Not now</button>';
  return box;
}

test("Tab stops: enabled controls in order, not the disabled or tabindex=-1 ones", () => {
  expect(tabStops(dialog()).map((el) => el.id)).toEqual(["t", "use", "not-now"]);
});

test("Tab from the last goes to the first, Shift+Tab from the first to the last", () => {
  const stops = tabStops(dialog());
  const [first, middle, last] = stops;
  expect(wrapTarget(stops, last, false)).toBe(first);
  expect(wrapTarget(stops, first, true)).toBe(last);
  expect(wrapTarget(stops, first, false)).toBeNull(); // the browser's own next stop
  expect(wrapTarget(stops, middle, true)).toBeNull();
});

test("a focus outside the dialog is brought into it, and no stops means no wrap", () => {
  const stops = tabStops(dialog());
  expect(wrapTarget(stops, document.body, false)).toBe(stops[0]);
  expect(wrapTarget(stops, null, true)).toBe(stops[2]);
  expect(wrapTarget([], document.body, false)).toBeNull();
});
