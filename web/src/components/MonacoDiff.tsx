// Monaco's diff editor over one file of a patch: read-only, side by side (inline when narrow),
// unchanged regions folded, highlighted by file type, dark or light as the system is.
import { useEffect, useRef, useState } from "react";
import { FileSides, languageOf } from "../diff/patchSides";
import { monaco } from "../diff/monaco";

const DARK = "(prefers-color-scheme: dark)";

// Each side's input is a textarea of its own, unnamed (axe: critical) unless each inner editor
// is given a label; the diff editor's originalAriaLabel does not reach them, and every change
// of the diff editor's options clears theirs, so they are named again after each.
function nameSides(diff: monaco.editor.IStandaloneDiffEditor): void {
  diff.getOriginalEditor().updateOptions({ ariaLabel: "The file before the change (read-only)" });
  diff.getModifiedEditor().updateOptions({ ariaLabel: "The file after the change (read-only)" });
}

// Monaco's high-contrast themes: under vs and vs-dark's token colours the diff's green and red
// line marks fall below WCAG's 4.5:1 (axe: serious); these mark changes with borders instead.
function theme(): string {
  return matchMedia(DARK).matches ? "hc-black" : "hc-light";
}

export function MonacoDiff({ file }: { file: FileSides }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneDiffEditor | null>(null);
  // Monaco's own unfold marks take a mouse (links without href): this button folds and unfolds
  // every unchanged region from the keyboard.
  const [folded, setFolded] = useState(true);

  useEffect(() => {
    if (!host.current) return;
    const diff = monaco.editor.createDiffEditor(host.current, {
      readOnly: true,
      originalEditable: false,
      automaticLayout: true,
      renderSideBySide: true,
      useInlineViewWhenSpaceIsLimited: true,
      renderSideBySideInlineBreakpoint: 640,
      hideUnchangedRegions: { enabled: true, contextLineCount: 3, minimumLineCount: 3 },
      scrollBeyondLastLine: false,
      minimap: { enabled: false },
      theme: theme(),
      ariaLabel: "Diff",
      // Monaco's EditContext input gets its aria-label some time after it is attached: axe
      // could find it unnamed (a serious violation, seen as a flaky e2e). The textarea input
      // is named at once; a read-only diff types nothing either way.
      editContext: false,
    });
    editor.current = diff;
    const scheme = matchMedia(DARK);
    const follow = () => monaco.editor.setTheme(theme());
    scheme.addEventListener("change", follow);
    return () => {
      scheme.removeEventListener("change", follow);
      const model = diff.getModel();
      diff.dispose();
      model?.original.dispose();
      model?.modified.dispose();
      editor.current = null;
    };
  }, []);

  useEffect(() => {
    const diff = editor.current;
    if (!diff) return;
    const language = languageOf(file.path);
    const previous = diff.getModel();
    diff.setModel({
      original: monaco.editor.createModel(file.original, language),
      modified: monaco.editor.createModel(file.modified, language),
    });
    previous?.original.dispose();
    previous?.modified.dispose();
  }, [file]);

  useEffect(() => {
    const diff = editor.current;
    if (!diff) return;
    diff.updateOptions({ hideUnchangedRegions: { enabled: folded } });
    nameSides(diff);
  }, [folded]);

  return (
    <div>
      <button type="button" className="quiet" aria-pressed={folded} onClick={() => setFolded((f) => !f)}>
        Fold unchanged lines
      </button>
      <div className="monaco" ref={host} data-testid="monaco-diff" data-language={languageOf(file.path)} />
    </div>
  );
}
