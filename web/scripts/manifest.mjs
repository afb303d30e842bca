// Writes web_dist/build-manifest.json after `vite build`: the hash of the sources it was built
// from. tests/unit/test_web_dist.py computes the same hash (bdg_gateway.web_dist_manifest) and
// fails when the sources changed without a rebuild, so CI needs no npm build.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("..", import.meta.url));
const TOP = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const files = [...TOP.map((name) => join(web, name)), ...walk(join(web, "src"))]
  .map((path) => relative(web, path).split(sep).join("/"))
  .filter((path) => !/\.test\.tsx?$/.test(path))
  .sort();
const hash = createHash("sha256");
for (const path of files) {
  hash.update(path + "\0");
  hash.update(readFileSync(join(web, path)));
  hash.update("\0");
}
const out = join(web, "..", "services", "gateway", "bdg_gateway", "web_dist", "build-manifest.json");
writeFileSync(out, JSON.stringify({ source_sha256: hash.digest("hex"), files }, null, 2) + "\n");
console.log(`wrote ${relative(web, out)}`);
