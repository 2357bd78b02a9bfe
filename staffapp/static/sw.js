// The staff app's service worker: keeps the app's shell so it opens with no network. Only the shell's own
// files are answered here (network first, the cached copy when offline); every API call goes to the network
// untouched, so scans queue in IndexedDB (app.js) and are never replayed by this worker. The bundled barcode
// reader is not in the shell (most phones never need it): it is kept once a phone has fetched it.
const DECODER = ["/staff/decoder/decoder.js", "/staff/decoder/zxing-reader.js", "/staff/decoder/zxing_reader.wasm"];
const CACHE = "barid-staff-v3";
const SHELL = ["/staff", "/staff/lib.js", "/staff/day.js", "/staff/super.js", "/staff/app.js", "/staff/app.css", "/staff/icon.svg", "/staff/manifest.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || (!SHELL.includes(url.pathname)
      && !DECODER.includes(url.pathname))) return;
  event.respondWith(fetch(event.request).then((resp) => {
    if (resp.ok) {
      const copy = resp.clone();
      caches.open(CACHE).then((c) => c.put(url.pathname, copy));
    }
    return resp;
  }).catch(() => caches.match(url.pathname)));
});
