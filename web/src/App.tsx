import { useCallback, useEffect, useMemo, useState } from "react";
import { Api } from "./api";
import { GoalForm } from "./components/GoalForm";
import { JobPage } from "./components/JobPage";
import { JobList } from "./components/JobList";
import { SignIn } from "./components/SignIn";
import { Threads } from "./components/Threads";
import { exchange, storedToken, storeToken, takeLoginCode } from "./session";

const THREAD = "bdg.thread"; // the current thread, kept across reloads

function currentJob(): string | null {
  return /^\/app\/jobs\/([0-9a-f-]{36})$/.exec(location.pathname)?.[1] ?? null;
}

export function App() {
  const [token, setToken] = useState<string | null>(storedToken);
  // Why the sign-in shows: null while signed in. The page under it stays mounted, so nothing
  // typed is lost while the user signs in again.
  const [signInReason, setSignInReason] = useState<string | null>(
    storedToken() ? null : "Sign in to start.",
  );
  const [jobId, setJobId] = useState<string | null>(currentJob);
  const [thread, setThreadState] = useState<string | null>(() => localStorage.getItem(THREAD));
  const [said, setSaid] = useState(0);
  const setThread = useCallback((id: string | null) => {
    if (id) localStorage.setItem(THREAD, id);
    else localStorage.removeItem(THREAD);
    setThreadState(id);
    setSaid((n) => n + 1);
  }, []);

  useEffect(() => {
    const code = takeLoginCode();
    if (!code) return;
    exchange(code)
      .then((fresh) => {
        storeToken(fresh);
        setToken(fresh);
        setSignInReason(null);
      })
      .catch((error: Error) => setSignInReason(`That login link did not work: ${error.message}`));
  }, []);

  useEffect(() => {
    const onPop = () => setJobId(currentJob());
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);

  const expired = useCallback((detail: string) => {
    setSignInReason(`Your session is no longer valid (${detail}). Sign in again; nothing you typed is lost.`);
  }, []);
  const api = useMemo(() => new Api(() => token, expired), [token, expired]);

  const open = useCallback((id: string | null) => {
    history.pushState(null, "", id ? `/app/jobs/${id}` : "/");
    setJobId(id);
  }, []);

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
        {token && (
          <button type="button" className="quiet" onClick={() => setSignInReason("Signed out.")}>
            Sign out
          </button>
        )}
      </header>
      <main>
        {jobId ? (
          <JobPage key={jobId} api={api} jobId={jobId} token={token} onExpired={expired} />
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
      {signInReason !== null && <SignIn reason={signInReason} onToken={signedIn} />}
    </>
  );
}
