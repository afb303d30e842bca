import { useEffect, useState } from "react";
import { newestFirst, removeNote, titleOf, upsertNote } from "./notes";
import type { Note } from "./notes";
import type { NoteStore } from "./notesDb";

function useOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);
  return online;
}

export function App({ store }: { store: NoteStore }) {
  const [notes, setNotes] = useState<Note[]>([]);
  const [draft, setDraft] = useState("");
  const online = useOnline();

  useEffect(() => {
    void store.list().then((saved) => setNotes(newestFirst(saved)));
  }, [store]);

  async function save() {
    if (!draft.trim()) return;
    const note = { id: crypto.randomUUID(), text: draft, updatedAt: Date.now() };
    await store.put(note);
    setNotes((n) => upsertNote(n, note));
    setDraft("");
  }

  async function remove(id: string) {
    await store.remove(id);
    setNotes((n) => removeNote(n, id));
  }

  return (
    <main className="notes">
      <h1>Notes</h1>
      <p className="status" role="status">
        {online ? "Online" : "Offline"}: notes are kept on this device.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label htmlFor="new-note">New note</label>
        <textarea id="new-note" rows={3} value={draft} onChange={(e) => setDraft(e.target.value)} />
        <button type="submit">Save note</button>
      </form>
      <ul className="note-list" aria-label="Notes">
        {notes.map((note) => (
          <li key={note.id}>
            <span>{titleOf(note)}</span>
            <button aria-label={`Delete ${titleOf(note)}`} onClick={() => void remove(note.id)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
    </main>
  );
}
