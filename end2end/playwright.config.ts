import { defineConfig } from "@playwright/test";
import * as path from "path";
import * as os from "os";

// The server under test is the binary `cargo leptos build` produced, on its own
// port and a fresh SQLite file, so tests never touch a developer's data.
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(__dirname, "..", "target");
// The release build (split WASM, precompressed assets): what users run.
const binary = path.join(targetDir, "release", "tracevis");
const port = Number(process.env.TRACEVIS_E2E_PORT ?? 3107);
const dbFile = path.join(os.tmpdir(), `tracevis-e2e-${process.pid}.db`);

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
      ],
    },
  },
  webServer: {
    command: `"${binary}" serve --addr 127.0.0.1:${port} --database-url "sqlite://${dbFile}"`,
    cwd: path.join(__dirname, ".."),
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
