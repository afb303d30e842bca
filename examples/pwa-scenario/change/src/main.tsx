import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { indexedDbNoteStore } from "./notesDb";
import "./index.css";

// The service worker (public/sw.js) keeps the app shell, so a reload works offline.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => void navigator.serviceWorker.register("/sw.js"));
}

const store = indexedDbNoteStore();
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);
