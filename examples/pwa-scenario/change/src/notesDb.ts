import type { Note } from "./notes";

// IndexedDB keeps the notes on the device: database "notes-pwa" v1, store "notes" keyed by id.
// The App takes any NoteStore, so its tests run on a memory store (jsdom has no IndexedDB).
export interface NoteStore {
  list(): Promise<Note[]>;
  put(note: Note): Promise<void>;
  remove(id: string): Promise<void>;
}

const DB = "notes-pwa";
const STORE = "notes";

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function open(factory: IDBFactory): Promise<IDBDatabase> {
  const opening = factory.open(DB, 1);
  opening.onupgradeneeded = (event) => {
    // Version 1 creates the store; later versions migrate from event.oldVersion here.
    if (event.oldVersion < 1) opening.result.createObjectStore(STORE, { keyPath: "id" });
  };
  return done(opening);
}

// Opened on first use, so the page renders before the database answers.
export function indexedDbNoteStore(factory: IDBFactory = indexedDB): NoteStore {
  let opened: Promise<IDBDatabase> | undefined;
  const store = async (mode: IDBTransactionMode) => {
    const db = await (opened ??= open(factory));
    return db.transaction(STORE, mode).objectStore(STORE);
  };
  return {
    list: async () => done((await store("readonly")).getAll() as IDBRequest<Note[]>),
    put: async (note) => void (await done((await store("readwrite")).put(note))),
    remove: async (id) => void (await done((await store("readwrite")).delete(id))),
  };
}

export function memoryNoteStore(initial: Note[] = []): NoteStore {
  const notes = new Map(initial.map((n) => [n.id, n]));
  return {
    list: async () => [...notes.values()],
    put: async (note) => void notes.set(note.id, note),
    remove: async (id) => void notes.delete(id),
  };
}
