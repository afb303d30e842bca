import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The build goes into the gateway's package so a wheel (and a fresh clone) carries it:
// no npm step on a machine that only runs the agent. See web/README.md.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../services/gateway/bdg_gateway/web_dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // No inline scripts or styles: the gateway's Content-Security-Policy forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        // Monaco in a chunk of its own: its name (content hash) stays the same while the app
        // changes, so a rebuild does not commit another copy of its ~2.8 MB, nor do browsers
        // fetch it again.
        // Vite's preload helper, which Monaco's lazy language loaders use too, stays with the
        // app: in Monaco's chunk it would make the first page load all of Monaco.
        manualChunks: (id) =>
          id.includes("/node_modules/monaco-editor/") ? "monaco" : id.includes("preload-helper") ? "vite-preload" : undefined,
      },
    },
  },
  test: { environment: "node", include: ["src/**/*.test.{ts,tsx}"] },
});
