import { useEffect, useRef, useState } from "react";
import { useFocusTrap } from "../focusTrap";

// A modal over the page: whatever is typed underneath stays where it is. It holds the keyboard
// (focusTrap.ts); Escape or "Not now" closes it, and the next call the gateway refuses opens it
// again.
export function SignIn({
  reason,
  onToken,
  onDismiss,
}: {
  reason: string;
  onToken: (token: string) => void;
  onDismiss: () => void;
}) {
  const [token, setToken] = useState("");
  const field = useRef<HTMLTextAreaElement>(null);
  const box = useRef<HTMLDivElement>(null);
  useFocusTrap(box, onDismiss);
  useEffect(() => field.current?.focus(), []);
  return (
    <div className="overlay">
      <div className="dialog" ref={box} role="dialog" aria-modal="true" aria-labelledby="signin-title">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onToken(token.trim());
        }}
      >
        <h2 id="signin-title">Sign in</h2>
        <p role="alert">{reason}</p>
        <p>
          On the embedded stack, open the one-time login link that <code>bdg up</code> prints.
          With an identity provider, paste its bearer token (a JWT for this gateway's audience).
        </p>
        <label htmlFor="token">Bearer token</label>
        <textarea id="token" ref={field} rows={3} value={token} onChange={(e) => setToken(e.target.value)} />
        <button type="submit">Use this token</button>{" "}
        <button type="button" className="quiet" onClick={onDismiss}>
          Not now
        </button>
      </form>
      </div>
    </div>
  );
}
