import { expect, test } from "vitest";
import { languageOf, patchSides } from "./patchSides";

const PATCH = `diff --git a/src/app.ts b/src/app.ts
--- a/src/app.ts
+++ b/src/app.ts
@@ -1,3 +1,4 @@
 import x from "y";
-const a = 1;
+const a = 2;
+--- looks like a header
 log(a);
@@ -10,2 +11,2 @@
 // end
-old
+new
diff --git a/README.md b/README.md
new file mode 100644
--- /dev/null
+++ b/README.md
@@ -0,0 +1,2 @@
+# Title
+text
\\ No newline at end of file
`;

test("each file of a patch becomes two sides at the hunks' real line numbers", () => {
  const [app, readme] = patchSides(PATCH);
  expect(app.path).toBe("src/app.ts");
  const original = app.original.split("\n");
  const modified = app.modified.split("\n");
  expect(original.slice(0, 3)).toEqual(['import x from "y";', "const a = 1;", "log(a);"]);
  expect(modified.slice(0, 4)).toEqual(['import x from "y";', "const a = 2;", "--- looks like a header", "log(a);"]);
  // The second hunk starts at line 10 (old) and 11 (new): blank, equal padding before it.
  expect(original[9]).toBe("// end");
  expect(modified[10]).toBe("// end");
  expect(original.slice(3, 9).every((l) => l === "")).toBe(true);
  expect(original[10]).toBe("old");
  expect(modified[11]).toBe("new");
  expect([app.added, app.removed]).toEqual([3, 2]);
  expect(readme).toEqual({ path: "README.md", original: "", modified: "# Title\ntext", added: 2, removed: 0 });
});

test("a deleted file keeps its old path; junk and empty patches give no files", () => {
  const deleted = "--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-print(1)\n";
  expect(patchSides(deleted)).toEqual([{ path: "gone.py", original: "print(1)", modified: "", added: 0, removed: 1 }]);
  expect(patchSides("")).toEqual([]);
  expect(patchSides("not a diff\n@@ -1 +1 @@\n+x\n")).toEqual([]);
});

test("the language follows the file type", () => {
  expect(languageOf("src/App.tsx")).toBe("typescript");
  expect(languageOf("a/b/main.py")).toBe("python");
  expect(languageOf("docker/Dockerfile.dev")).toBe("dockerfile");
  expect(languageOf("package.json")).toBe("javascript");
  expect(languageOf("Makefile")).toBe("plaintext");
  expect(languageOf(".env")).toBe("plaintext");
});
