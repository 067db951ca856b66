// Service worker: keeps the demo's own files so that it opens offline. Network first (a new build is
// picked up on the next online visit), the cached copy when the network fails. The model is not
// handled here: the page keeps it in the Cache API itself, with download progress.
const CACHE = "splade-demo-app-v1";
const scope = new URL(self.registration.scope);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const res = await fetch(new URL("app-files.json", scope), { cache: "no-cache" });
      const files = res.ok ? await res.json() : [];
      await cache.addAll(["./", ...files].map((f) => new URL(f, scope).href));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("splade-demo-app-") && name !== CACHE) {
          await caches.delete(name);
        }
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) {
    return;
  }
  if (url.pathname.startsWith(new URL("models/", scope).pathname)) {
    return;
  }
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(event.request);
        if (response.ok && response.type === "basic") {
          cache.put(event.request, response.clone()).catch(() => {});
        }
        return response;
      } catch (err) {
        const cached = await cache.match(event.request, { ignoreSearch: true });
        if (cached) {
          return cached;
        }
        throw err;
      }
    })(),
  );
});
