import { hints } from "../slash";

// The commands an input could become, or the argument hint of the one being typed; announced
// politely so a screen reader hears them as they change.
export function SlashHints({ id, input }: { id: string; input: string }) {
  return (
    <ul id={id} className="hints" aria-live="polite">
      {hints(input).map((c) => (
        <li key={c.name}>
          <code>/{c.name}</code> {c.hint && <em>{c.hint}</em>} {c.help}
        </li>
      ))}
    </ul>
  );
}
