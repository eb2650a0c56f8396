// What the browser benchmarks share: a tracevis server of their own on a
// fresh SQLite file, started from the release build (or $TRACEVIS_BIN), and
// a JSON POST that fails loudly.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const root = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const target = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
export const bin = process.env.TRACEVIS_BIN ?? [path.join(target, "release", "tracevis"), path.join(target, "debug", "tracevis")].find(fs.existsSync);

/// Starts the server on `port`; resolves once /healthz answers, and fails
/// (stopping the server) if it has not within 10 s or the server exited. By
/// default on a fresh SQLite file; `databaseUrl` serves an existing
/// database, `args` go to `tracevis serve`.
export async function startServer(port, name, { databaseUrl, args = [] } = {}) {
  const base = `http://127.0.0.1:${port}`;
  const url = databaseUrl ?? `sqlite://${path.join(fs.mkdtempSync(path.join(os.tmpdir(), `tracevis-${name}-`)), `${name}.db`)}`;
  const server = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`, "--database-url", url, "--config", "/nonexistent.toml", ...args], {
    cwd: root, stdio: "ignore", env: { ...process.env, RUST_LOG: "warn" },
  });
  let healthy = false;
  for (let i = 0; i < 200 && !healthy && server.exitCode === null; i++) {
    try { healthy = (await fetch(`${base}/healthz`)).ok; } catch {}
    if (!healthy) await new Promise((r) => setTimeout(r, 50));
  }
  if (!healthy) {
    server.kill();
    throw new Error(`tracevis serve on port ${port} (${name}) did not answer /healthz within 10 s` +
      (server.exitCode === null ? "" : `: it exited with status ${server.exitCode}`));
  }
  const post = async (p, body) => {
    const r = await fetch(`${base}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
  };
  return { base, server, post };
}
