// @vitest-environment jsdom
import { beforeEach, expect, test } from "vitest";
import { loginCode, signInWithLink } from "./session";

const LINK = "/app/jobs?x=1#login=c0de%2B1";

// The gateway's documented answers to POST /auth/login (README: 200 with a token, 401 naming why).
const answers = {
  token: async () => new Response(JSON.stringify({ token: "t", tenant: "a", user: "u", expires_at: 1 }), { status: 200 }),
  used: async () => new Response(JSON.stringify({ detail: "login code is unknown or already used" }), { status: 401 }),
  down: async (): Promise<Response> => {
    throw new TypeError("Failed to fetch");
  },
};

beforeEach(() => history.replaceState(null, "", LINK));

test("the login code is read from the fragment, decoded, and left in place", () => {
  expect(loginCode()).toBe("c0de+1");
  expect(location.hash).toBe("#login=c0de%2B1");
  history.replaceState(null, "", "/#other=1");
  expect(loginCode()).toBeNull();
});

test("a failed exchange keeps the link in the address bar, saying why", async () => {
  await expect(signInWithLink("c0de+1", answers.down)).rejects.toThrow("the gateway does not answer");
  expect(location.hash).toBe("#login=c0de%2B1");
  await expect(signInWithLink("c0de+1", answers.used)).rejects.toThrow("already used");
  expect(location.hash).toBe("#login=c0de%2B1");
});

test("a successful exchange drops the code and keeps the rest of the address", async () => {
  expect(await signInWithLink("c0de+1", answers.token)).toBe("t");
  expect(location.hash).toBe("");
  expect(location.pathname + location.search).toBe("/app/jobs?x=1");
});
