// A unified diff, coloured by line; the plain view until Monaco's diff editor lands.
export function DiffView({ text, label }: { text: string; label?: string }) {
  return (
    <pre className="diff" data-testid="diff" aria-label={label}>
      {text.split("\n").map((line, i) => (
        <span key={i} className={line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : undefined}>
          {line + "\n"}
        </span>
      ))}
    </pre>
  );
}
