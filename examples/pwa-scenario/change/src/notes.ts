// Notes as plain data: the first line of a note is its title; the newest edit comes first.
export type Note = { id: string; text: string; updatedAt: number };

export function titleOf(note: Note): string {
  return note.text.split("\n", 1)[0].trim() || "Untitled note";
}

export function upsertNote(notes: Note[], note: Note): Note[] {
  return newestFirst([note, ...notes.filter((n) => n.id !== note.id)]);
}

export function removeNote(notes: Note[], id: string): Note[] {
  return notes.filter((n) => n.id !== id);
}

export function newestFirst(notes: Note[]): Note[] {
  return [...notes].sort((a, b) => b.updatedAt - a.updatedAt);
}
