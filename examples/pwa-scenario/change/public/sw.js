// The app shell for offline use: pages network first (a new build shows at once), everything
// else from the cache first; every same-origin GET that answers is kept for the next offline load.
const CACHE = "notes-v1";
const SHELL = ["/", "/manifest.webmanifest", "/icon.svg"];

// The build's hashed scripts and styles, as index.html names them: the page that registered this
// worker loaded them before it was controlled, so they are fetched again here.
async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(SHELL);
  const page = await (await cache.match("/")).text();
  const assets = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  await cache.addAll(assets);
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache());
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

async function keep(request, response) {
  if (response.ok && new URL(request.url).origin === self.location.origin) {
    const cache = await caches.open(CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request)
        .then((response) => keep(request, response))
        .catch(async () => (await caches.match(request)) ?? (await caches.match("/"))),
    );
    return;
  }
  event.respondWith(
    caches.match(request).then((hit) => hit ?? fetch(request).then((r) => keep(request, r))),
  );
});
