// The one static file server of the project: the demo (`./build.sh demo`), the browser tests and
// the benchmarks start it (loopback only).
// CLI: node tools/serve.mjs <root> [port]
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".jsonl": "application/x-ndjson; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".gguf": "application/octet-stream",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
};

function contentType(file) {
  return TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

// `mounts` maps URL prefixes ("/@baselines/") to folders; the longest matching prefix wins and
// anything else is served from `root`. No path may leave the folder it is served from.
async function resolveFile(folders, urlPath) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath.split("?")[0]);
  } catch {
    return null;
  }
  const [prefix, dir] = folders.find(([p]) => rel.startsWith(p)) ?? [];
  if (dir == null) {
    return null;
  }
  const file = path.resolve(dir, "." + path.posix.normalize("/" + rel.slice(prefix.length)));
  if (file !== dir && !file.startsWith(dir + path.sep)) {
    return null;
  }
  try {
    const info = await stat(file);
    if (info.isDirectory()) {
      const index = path.join(file, "index.html");
      return (await stat(index)).isFile() ? index : null;
    }
    return info.isFile() ? file : null;
  } catch {
    return null;
  }
}

// `handler(req, res)`, if given, sees each request first and returns true when it answered it
// (the browser tests use it to serve broken downloads).
export function startServer(root, { port = 0, host = "127.0.0.1", quiet = true, handler = null, mounts = {} } = {}) {
  const folders = Object.entries({ ...mounts, "/": root })
    .map(([prefix, dir]) => [prefix, path.resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer(async (req, res) => {
    if (handler && (await handler(req, res))) {
      return;
    }
    const file = req.method === "GET" || req.method === "HEAD" ? await resolveFile(folders, req.url) : null;
    if (!quiet) {
      console.log(`${req.method} ${req.url} ${file ? 200 : 404}`);
    }
    if (!file) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("not found\n");
      return;
    }
    const { size, mtime } = await stat(file);
    res.writeHead(200, {
      "Content-Type": contentType(file),
      "Content-Length": size,
      "Last-Modified": mtime.toUTCString(),
      "Cache-Control": "no-cache",
      "X-Content-Type-Options": "nosniff",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({
        url: `http://${host}:${actual}/`,
        close: () =>
          new Promise((done) => {
            server.close(done);
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = process.argv[2] ?? ".";
  const port = Number(process.argv[3] ?? 8080);
  const { url } = await startServer(root, { port, quiet: false });
  console.log(`serving ${path.resolve(root)} at ${url}`);
}
