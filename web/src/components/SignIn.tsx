import { useEffect, useRef, useState } from "react";

// A modal over the page: whatever is typed underneath stays where it is.
export function SignIn({ reason, onToken }: { reason: string; onToken: (token: string) => void }) {
  const [token, setToken] = useState("");
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => field.current?.focus(), []);
  return (
    <div className="overlay">
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="signin-title">
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
        <button type="submit">Use this token</button>
      </form>
      </div>
    </div>
  );
}
