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
  },
  test: { environment: "node", include: ["src/**/*.test.{ts,tsx}"] },
});
