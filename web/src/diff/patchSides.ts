// A unified diff turned into the two sides Monaco's diff editor compares. The API keeps patches,
// not whole files, so each side holds the hunks at their real line numbers; the lines between
// hunks (unknown here) are blank on both sides, equal, so hideUnchangedRegions folds them away.

export interface FileSides {
  path: string;
  original: string;
  modified: string;
  added: number;
  removed: number;
}

interface FileLines {
  path: string;
  old: string[];
  new: string[];
  added: number;
  removed: number;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function pathOf(header: string): string {
  const name = header.slice(4).split("\t")[0].trim();
  return name === "/dev/null" ? "" : name.replace(/^[ab]\//, "");
}

/** Every file of a (possibly multi-file, git-style) unified diff; junk lines are ignored. */
export function patchSides(patch: string): FileSides[] {
  const files: FileSides[] = [];
  let file: FileLines | null = null;
  let oldPath = "";
  const done = () => {
    const f = file as FileLines | null;
    if (f) {
      const { path, added, removed } = f;
      files.push({ path, original: f.old.join("\n"), modified: f.new.join("\n"), added, removed });
    }
    file = null;
  };
  // Lines still due in the current hunk, by its header's counts: a hunk ends by count, so a
  // removed line that reads "--- x" is never taken for the next file's header.
  let oldLeft = 0;
  let newLeft = 0;
  for (const line of patch.split("\n")) {
    const current = file as FileLines | null;
    if (current && (oldLeft > 0 || newLeft > 0)) {
      if (line.startsWith("+")) {
        current.new.push(line.slice(1));
        current.added += 1;
        newLeft -= 1;
      } else if (line.startsWith("-")) {
        current.old.push(line.slice(1));
        current.removed += 1;
        oldLeft -= 1;
      } else if (line.startsWith(" ") || line === "") {
        current.old.push(line.slice(1));
        current.new.push(line.slice(1));
        oldLeft -= 1;
        newLeft -= 1;
      } else if (!line.startsWith("\\")) {
        oldLeft = newLeft = 0; // a truncated hunk: what follows is headers again
      }
      continue;
    }
    if (line.startsWith("--- ")) {
      oldPath = pathOf(line);
    } else if (line.startsWith("+++ ")) {
      done();
      file = { path: pathOf(line) || oldPath, old: [], new: [], added: 0, removed: 0 };
    } else {
      const hunk = HUNK.exec(line);
      if (!hunk || !current) continue;
      // Pad to the hunk's first line; both pads are equally long (lines between hunks are the
      // same on both sides). A count of 0 (a new or deleted file) starts after line N.
      const oldCount = Number(hunk[2] ?? 1);
      const newCount = Number(hunk[4] ?? 1);
      const oldFirst = oldCount === 0 ? Number(hunk[1]) : Number(hunk[1]) - 1;
      const newFirst = newCount === 0 ? Number(hunk[3]) : Number(hunk[3]) - 1;
      while (current.old.length < oldFirst) current.old.push("");
      while (current.new.length < newFirst) current.new.push("");
      oldLeft = oldCount;
      newLeft = newCount;
    }
  }
  done();
  return files;
}

const LANGUAGES: Record<string, string> = {
  ts: "typescript", tsx: "typescript", mts: "typescript", cts: "typescript",
  js: "javascript", jsx: "javascript", mjs: "javascript", cjs: "javascript",
  py: "python", pyi: "python", json: "javascript", // Monaco's JSON mode needs its language worker
  css: "css", scss: "scss", less: "less",
  html: "html", htm: "html", md: "markdown", yml: "yaml", yaml: "yaml", sh: "shell",
  bash: "shell", go: "go", rs: "rust", java: "java", kt: "kotlin", rb: "ruby", php: "php",
  c: "cpp", h: "cpp", cc: "cpp", cpp: "cpp", hpp: "cpp", cs: "csharp", sql: "sql",
  xml: "xml", svg: "xml", toml: "ini", ini: "ini", cfg: "ini", swift: "swift",
};

/** Monaco's language id for a path, by extension (Dockerfile by name); "plaintext" otherwise. */
export function languageOf(path: string): string {
  const name = path.split("/").pop() ?? "";
  if (/^Dockerfile/i.test(name)) return "dockerfile";
  const dot = name.lastIndexOf(".");
  return dot > 0 ? (LANGUAGES[name.slice(dot + 1).toLowerCase()] ?? "plaintext") : "plaintext";
}
