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

/** The login code of a `/#login=<code>` link, left in the address bar until it is exchanged. */
export function loginCode(): string | null {
  const match = /(?:^#|&)login=([^&]+)/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

/** The address bar without the login code: called once the code became a token, so a failed
 * exchange (the gateway down, a network error) leaves the link there to try again. */
export function forgetLoginCode(): void {
  history.replaceState(null, "", location.pathname + location.search);
}

/** The login link's code exchanged for a token, the code dropped from the address bar only then. */
export async function signInWithLink(code: string, fetcher: typeof fetch = (input, init) => fetch(input, init)): Promise<string> {
  const token = await exchange(code, fetcher);
  forgetLoginCode();
  return token;
}

export async function exchange(code: string, fetcher: typeof fetch = (input, init) => fetch(input, init)): Promise<string> {
  let response: Response;
  try {
    response = await fetcher("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code }),
    });
  } catch {
    throw new Error("the gateway does not answer");
  }
  const payload = (await response.json().catch(() => ({}))) as {
    token?: string;
    detail?: string;
  };
  if (!response.ok || !payload.token) {
    throw new Error(payload.detail ?? `sign-in failed (${response.status})`);
  }
  return payload.token;
}
