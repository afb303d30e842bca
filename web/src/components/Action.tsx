import { useState } from "react";
import { ApiError } from "../api";

// A button whose failure (409 approve twice, 422 bad input...) is shown beside it.
export function Action({ label, run, primary }: { label: string; run: () => Promise<unknown>; primary?: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span className="action">
      <button
        type="button"
        className={primary ? "primary" : undefined}
        disabled={busy}
        onClick={() => {
          setBusy(true);
          setError(null);
          run()
            .catch((e: unknown) => setError(e instanceof ApiError ? e.message : String(e)))
            .finally(() => setBusy(false));
        }}
      >
        {label}
      </button>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
