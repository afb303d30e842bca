// A modal dialog keeps the keyboard: Tab and Shift+Tab go round its own controls (also from a
// focus left outside it, the page's top after a reload), Escape closes it, and the focus goes
// back where it was when the dialog opened. Only keys are caught, not focus moves: a script may
// still focus the page underneath (what is typed there is kept, the overlay hides it).
import { RefObject, useEffect, useState } from "react";

const STOPS = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';

/** The controls Tab stops at inside `box`, in order. */
export function tabStops(box: HTMLElement): HTMLElement[] {
  return [...box.querySelectorAll<HTMLElement>(STOPS)].filter(
    (el) => !(el as HTMLButtonElement).disabled && el.getAttribute("aria-hidden") !== "true",
  );
}

/** Where Tab (or Shift+Tab) must go instead of the browser's next stop; null: let it be. */
export function wrapTarget(stops: HTMLElement[], focused: Element | null, back: boolean): HTMLElement | null {
  if (!stops.length) return null;
  const first = stops[0];
  const last = stops[stops.length - 1];
  const index = focused ? stops.indexOf(focused as HTMLElement) : -1;
  if (index < 0) return back ? last : first; // outside the dialog: into it
  if (back && index === 0) return last;
  if (!back && index === stops.length - 1) return first;
  return null;
}

export function useFocusTrap(box: RefObject<HTMLElement>, onEscape: () => void): void {
  // Read while rendering, before the dialog's field takes the focus.
  const [opener] = useState(() => document.activeElement);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!box.current) return;
      if (e.key === "Escape") {
        e.preventDefault();
        onEscape();
        return;
      }
      if (e.key !== "Tab") return;
      const target = wrapTarget(tabStops(box.current), document.activeElement, e.shiftKey);
      if (target) {
        e.preventDefault();
        target.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [box, onEscape]);
  useEffect(
    () => () => {
      if (opener instanceof HTMLElement && opener !== document.body && opener.isConnected) opener.focus();
    },
    [opener],
  );
}
