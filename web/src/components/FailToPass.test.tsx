// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, expect, test } from "vitest";
import { Api } from "../api";
import Changes from "./Changes";
import { FailToPass, FailToPassCheck, describeCheck } from "./FailToPass";

afterEach(cleanup);

const PROVEN: FailToPassCheck = {
  verdict: "proven",
  tests: [{ test: "tests.test_mul::test_mul", before: "failed" }],
  test_files: ["tests/test_mul.py"],
  note: "1 test(s) fail on the base code and pass on the change",
};
const REFUSED: FailToPassCheck = {
  verdict: "not_proven",
  tests: [],
  test_files: ["tests/test_mul.py"],
  note: "no test of the change fails without it: the tests prove nothing about the goal",
};

test("a check reads as the CLI's: the verdict in words, its tone, each flipped test", () => {
  expect(describeCheck(PROVEN)).toEqual({
    verdict: "proven",
    tone: "add",
    tests: ["tests.test_mul::test_mul (failed before, passes now)"],
  });
  expect(describeCheck(REFUSED)).toMatchObject({ verdict: "not proven", tone: "del", tests: [] });
  expect(describeCheck({ ...REFUSED, verdict: "not_required" }).tone).toBe("");
  const many = { ...PROVEN, tests: Array.from({ length: 12 }, (_, i) => ({ test: `t${i}`, before: "error" })) };
  expect(describeCheck(many).tests.slice(-2)).toEqual(["t9 (error before, passes now)", "+2 more"]);
});

test("no check (the tests failed, or an older run) shows nothing", () => {
  const { container } = render(<FailToPass check={null} attempt={1} />);
  expect(container.innerHTML).toBe("");
});

/** An Api whose fetch answers /attempts with two attempts: a refused change, then a proven one. */
function attemptsApi(): Api {
  const attempt = (number: number, outcome: string, check: FailToPassCheck | null) => ({
    number,
    outcome,
    coder: { summary: `attempt ${number}'s change`, files: [] },
    tester_files: [],
    tester: { fail_to_pass: check },
  });
  const body = { attempts: [attempt(1, "tests_failed", REFUSED), attempt(2, "reviewed", PROVEN)] };
  return new Api(
    () => "token",
    () => undefined,
    async () => new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } }),
  );
}

test("the attempts view shows the chosen attempt's fail-to-pass check", async () => {
  render(<Changes api={attemptsApi()} jobId="j1" version="2:reviewing" />);
  const section = await screen.findByRole("region", { name: "Fail-to-pass check" });
  expect(section.textContent).toContain("proven: 1 test(s) fail on the base code");
  const flipped = screen.getByRole("list", { name: "Tests that fail without the change" });
  expect(flipped.textContent).toBe("tests.test_mul::test_mul (failed before, passes now)");
  screen.getByRole("button", { name: "Attempt 1 (tests_failed)" }).click();
  await screen.findByText(/the tests prove nothing about the goal/);
  expect(screen.getByRole("region", { name: "Fail-to-pass check" }).textContent).toMatch(/^Fail-to-pass checknot proven: /);
  expect(screen.queryByRole("list", { name: "Tests that fail without the change" })).toBeNull();
});
