// The session token: from a one-time login link (`bdg up` prints it; the code is in the URL's
// fragment so it never reaches a server log) or pasted from your identity provider.

const KEY = "bdg.token";

export function storedToken(): string | null {
  return localStorage.getItem(KEY);
}

export function storeToken(token: string | null): void {
  if (token) localStorage.setItem(KEY, token);
  else localStorage.removeItem(KEY);
}

/** The login code of a `/#login=<code>` link, removed from the address bar. */
export function takeLoginCode(): string | null {
  const match = /(?:^#|&)login=([^&]+)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return decodeURIComponent(match[1]);
}

export async function exchange(code: string): Promise<string> {
  const response = await fetch("/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code }),
  });
  const payload = (await response.json().catch(() => ({}))) as {
    token?: string;
    detail?: string;
  };
  if (!response.ok || !payload.token) {
    throw new Error(payload.detail ?? `sign-in failed (${response.status})`);
  }
  return payload.token;
}
