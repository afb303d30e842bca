// The tester's fail-to-pass check of an attempt (`results.fail_to_pass` of its test run, as the
// API's /attempts gives it): do the change's tests fail on the code as it was?
export interface FlippedTest {
  test: string;
  before: string;
}

export interface FailToPassCheck {
  verdict: string;
  tests: FlippedTest[];
  test_files: string[];
  note: string;
}

export const SHOWN_TESTS = 10;
const REFUSED = new Set(["not_proven", "no_test"]);

/** What the page says of a check: the verdict in words, its tone, and one line per flipped test. */
export function describeCheck(check: FailToPassCheck): { verdict: string; tone: string; tests: string[] } {
  const tone = check.verdict === "proven" ? "add" : REFUSED.has(check.verdict) ? "del" : "";
  const tests = check.tests.slice(0, SHOWN_TESTS).map((t) => `${t.test} (${t.before} before, passes now)`);
  if (check.tests.length > SHOWN_TESTS) tests.push(`+${check.tests.length - SHOWN_TESTS} more`);
  return { verdict: check.verdict.replaceAll("_", " "), tone, tests };
}

export function FailToPass({ check, attempt }: { check: FailToPassCheck | null | undefined; attempt: number }) {
  if (!check) return null;
  const { verdict, tone, tests } = describeCheck(check);
  const title = `fail-to-pass-${attempt}`;
  return (
    <section className="fail-to-pass" aria-labelledby={title}>
      <h3 id={title}>Fail-to-pass check</h3>
      <p>
        <strong className={tone || undefined}>{verdict}</strong>
        {check.note && `: ${check.note}`}
      </p>
      {tests.length > 0 && (
        <ul aria-label="Tests that fail without the change">
          {tests.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
