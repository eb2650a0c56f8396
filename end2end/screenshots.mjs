// Takes the README's screenshots from a fresh server seeded with the demo
// runs: the run list, a run's page, two runs compared and the metrics.
//
//   node end2end/screenshots.mjs        (uses the release build if present)
import { chromium } from "@playwright/test";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(path.dirname(new URL(import.meta.url).pathname), "..");
const target = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const bin = process.env.TRACEVIS_BIN ?? [path.join(target, "release", "tracevis"), path.join(target, "debug", "tracevis")].find(fs.existsSync);
const port = 3191;
const base = `http://127.0.0.1:${port}`;
const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tracevis-shots-")), "shots.db");
const out = path.join(root, "docs");

const server = spawn(bin, ["serve", "--seed-demo", "--addr", `127.0.0.1:${port}`, "--database-url", `sqlite://${db}`, "--config", "/nonexistent.toml"], {
  cwd: root, stdio: "ignore", env: { ...process.env, RUST_LOG: "warn" },
});
const api = async (p) => (await fetch(`${base}${p}`)).json();
try {
  let runs = { total: 0 };
  for (let i = 0; i < 400 && runs.total < 90; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try { runs = await api("/api/v1/executions?limit=1000"); } catch {}
  }
  const research = runs.executions.filter((r) => r.graph_type === "research_agent");
  const failed = research.find((r) => r.status === "failed") ?? research[0];
  const good = research.find((r) => r.status === "completed" && r.start_time < failed.start_time) ?? research.at(-1);

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--disable-gpu", "--no-first-run"] });
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  // A page that threw (say, a hydration mismatch) must not end up in the README.
  page.on("pageerror", (e) => { throw new Error(`page error: ${e.message}`); });
  const shot = async (url, file, prepare) => {
    await page.goto(`${base}${url}`);
    await page.waitForLoadState("networkidle");
    if (prepare) await prepare();
    await page.screenshot({ path: path.join(out, file), fullPage: false });
    console.log(`docs/${file} ← ${url}`);
  };
  await shot("/", "run-list.png");
  await shot(`/executions/${failed.execution_id}?visit=1`, "run-page.png");
  await shot(`/compare?a=${good.execution_id}&b=${failed.execution_id}`, "compare.png");
  await shot("/stats", "metrics.png", () => page.getByRole("heading", { name: "Over time", exact: true }).evaluate((h) => window.scrollTo(0, h.offsetTop - 8)));
  await browser.close();
} finally {
  server.kill("SIGKILL");
}
