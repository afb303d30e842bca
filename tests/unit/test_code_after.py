"""The reviewer reads the code a change leaves, not its diff: each changed part of each file as
it now reads, removed lines left out; new and deleted files said so."""

from __future__ import annotations

from bdg_planner.code_after import code_after

FIX = """\
diff --git a/src/clamp.js b/src/clamp.js
index 1..2 100644
--- a/src/clamp.js
+++ b/src/clamp.js
@@ -3,4 +3,4 @@ export function clamp(value, min, max) {
   if (value < min) return min;
-  if (value > max) return min;
+  if (value > max) return max;

   return value;
"""
NEW = """\
diff --git a/src/dates.js b/src/dates.js
new file mode 100644
--- /dev/null
+++ b/src/dates.js
@@ -0,0 +1,2 @@
+-- a line that starts with two dashes
+export const formatDate = (d) => d.toISOString().slice(0, 10);
"""
GONE = """\
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1 +0,0 @@
-x = 1
"""


def test_a_changed_file_shows_its_parts_as_they_now_read() -> None:
    assert code_after(FIX) == (
        "### src/clamp.js\n... (from line 3)\n  if (value < min) return min;\n"
        "  if (value > max) return max;\n\n  return value;"
    )


def test_new_and_deleted_files_are_said_so_and_every_file_is_shown_in_order() -> None:
    assert code_after(NEW + GONE + FIX).split("\n\n")[:2] == [
        "### src/dates.js (new file)\n-- a line that starts with two dashes\n"
        "export const formatDate = (d) => d.toISOString().slice(0, 10);",
        "### old.py (deleted)",
    ]


def test_text_outside_any_file_is_shown_as_it_came() -> None:
    assert code_after("not a diff at all\n") == "not a diff at all"
