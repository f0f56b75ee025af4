#!/usr/bin/env node
// The lab's air-gap mirror: a read-only static file server for the offline
// artefacts (offline/build.sh output), the stand-in for the file server
// an air-gapped home lab keeps next to its switch. GET and HEAD only, no
// directory listings, no paths outside the root.
//   node lab/mirror.mjs ROOT ADDRESS PORT   (logs one line per request to stdout)
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { join, normalize, sep } from "node:path";

const [root, address, port] = process.argv.slice(2);
if (!root || !address || !port) {
  console.error("usage: node lab/mirror.mjs ROOT ADDRESS PORT");
  process.exit(2);
}
const base = normalize(root) + sep;

/** The file under the root for a request path, or null. */
export function fileFor(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0]);
  } catch {
    return null;
  }
  const file = normalize(join(base, decoded));
  if (!file.startsWith(base)) return null;
  try {
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

const server = createServer((req, res) => {
  const file = req.method === "GET" || req.method === "HEAD" ? fileFor(req.url ?? "/") : null;
  const done = (status) => console.log(`${new Date().toISOString()} ${req.socket.remoteAddress} ${req.method} ${req.url} ${status}`);
  if (!file) {
    res.writeHead(req.method === "GET" || req.method === "HEAD" ? 404 : 405).end();
    return done(res.statusCode);
  }
  res.writeHead(200, { "content-length": statSync(file).size, "content-type": "application/octet-stream" });
  if (req.method === "HEAD") {
    res.end();
    return done(200);
  }
  createReadStream(file).pipe(res);
  res.on("finish", () => done(200));
});
server.listen(Number(port), address, () => console.log(`mirror: serving ${base} on http://${address}:${port}/`));
