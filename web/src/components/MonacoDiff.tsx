// Monaco's diff editor over one file of a patch: read-only, side by side (inline when narrow),
// unchanged regions folded, highlighted by file type, dark or light as the system is.
import { useEffect, useRef } from "react";
import { FileSides, languageOf } from "../diff/patchSides";
import { monaco } from "../diff/monaco";

const DARK = "(prefers-color-scheme: dark)";

function theme(): string {
  return matchMedia(DARK).matches ? "vs-dark" : "vs";
}

export function MonacoDiff({ file }: { file: FileSides }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneDiffEditor | null>(null);

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

  return <div className="monaco" ref={host} data-testid="monaco-diff" data-language={languageOf(file.path)} />;
}
