import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Api } from "./api";
import { GoalForm } from "./components/GoalForm";
import { JobPage } from "./components/JobPage";
import { JobList } from "./components/JobList";
import { SignIn } from "./components/SignIn";
import { Threads } from "./components/Threads";
import { loginCode, signInWithLink, storedToken, storeToken } from "./session";

const Deploys = lazy(() => import("./components/Deploys"));
const THREAD = "bdg.thread"; // the current thread, kept across reloads

type Page = { kind: "home" } | { kind: "job"; id: string } | { kind: "sites"; id: string | null };

function currentPage(): Page {
  const job = /^\/app\/jobs\/([0-9a-f-]{36})$/.exec(location.pathname)?.[1];
  if (job) return { kind: "job", id: job };
  const sites = /^\/app\/sites(?:\/([0-9a-f-]{36}))?\/?$/.exec(location.pathname);
  if (sites) return { kind: "sites", id: sites[1] ?? null };
  return { kind: "home" };
}

function pathOf(page: Page): string {
  if (page.kind === "job") return `/app/jobs/${page.id}`;
  if (page.kind === "sites") return page.id ? `/app/sites/${page.id}` : "/app/sites";
  return "/";
}

export function App() {
  const [token, setToken] = useState<string | null>(storedToken);
  // Why the sign-in shows: null while signed in. The page under it stays mounted, so nothing
  // typed is lost while the user signs in again.
  const [signInReason, setSignInReason] = useState<string | null>(
    storedToken() ? null : "Sign in to start.",
  );
  const [page, setPage] = useState<Page>(currentPage);
  const [thread, setThreadState] = useState<string | null>(() => localStorage.getItem(THREAD));
  const [said, setSaid] = useState(0);
  const setThread = useCallback((id: string | null) => {
    if (id) localStorage.setItem(THREAD, id);
    else localStorage.removeItem(THREAD);
    setThreadState(id);
    setSaid((n) => n + 1);
  }, []);

  // Once per page load: a one-time code exchanged twice (StrictMode runs effects twice in
  // development) would fail the second time.
  const exchanged = useRef(false);
  useEffect(() => {
    const code = loginCode();
    if (!code || exchanged.current) return;
    exchanged.current = true;
    signInWithLink(code)
      .then((fresh) => {
        storeToken(fresh);
        setToken(fresh);
        setSignInReason(null);
      })
      .catch((error: Error) =>
        setSignInReason(
          `That login link did not work: ${error.message}. It is still in the address bar: reload the page to try it again.`,
        ),
      );
  }, []);

  useEffect(() => {
    const onPop = () => setPage(currentPage());
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);

  const expired = useCallback((detail: string) => {
    setSignInReason(`Your session is no longer valid (${detail}). Sign in again; nothing you typed is lost.`);
  }, []);
  const api = useMemo(() => new Api(() => token, expired), [token, expired]);

  const go = useCallback((next: Page) => {
    history.pushState(null, "", pathOf(next));
    setPage(next);
  }, []);
  const open = useCallback((id: string | null) => go(id ? { kind: "job", id } : { kind: "home" }), [go]);
  const openSite = useCallback((id: string | null) => go({ kind: "sites", id }), [go]);

  const dismissSignIn = useCallback(() => setSignInReason(null), []);
  const signedIn = (fresh: string) => {
    storeToken(fresh);
    setToken(fresh);
    setSignInReason(null);
  };

  return (
    <>
      <header className="bar">
        <a
          href="/"
          className="brand"
          onClick={(e) => {
            e.preventDefault();
            open(null);
          }}
        >
          BigDaddyG Agent
        </a>
        {!token && ( // kept under the open box: the focus comes back to it when the box closes
          <button type="button" className="quiet" onClick={() => setSignInReason("Sign in to start.")}>
            Sign in
          </button>
        )}
        {token && (
          <nav aria-label="Pages">
            <a
              href="/app/sites"
              aria-current={page.kind === "sites" ? "page" : undefined}
              onClick={(e) => {
                e.preventDefault();
                openSite(null);
              }}
            >
              Deploys
            </a>
            <button type="button" className="quiet" onClick={() => setSignInReason("Signed out.")}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main>
        {page.kind === "job" ? (
          <JobPage key={page.id} api={api} jobId={page.id} token={token} onExpired={expired} />
        ) : page.kind === "sites" ? (
          <Suspense fallback={<p aria-busy="true">Loading...</p>}>
            <Deploys api={api} siteId={page.id} onOpenSite={openSite} onOpenJob={open} />
          </Suspense>
        ) : (
          <div className="home">
            <GoalForm api={api} thread={thread} onThread={setThread} onCreated={(id) => open(id)} />
            {token && (
              <Threads api={api} current={thread} version={said} onSelect={setThread} onOpenJob={open} />
            )}
            {token && <JobList api={api} onOpen={open} />}
          </div>
        )}
      </main>
      {signInReason !== null && <SignIn reason={signInReason} onToken={signedIn} onDismiss={dismissSignIn} />}
    </>
  );
}
