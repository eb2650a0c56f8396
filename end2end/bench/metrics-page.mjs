// Browser benchmark for the metrics page as history grows (#16): opens
// /stats in Chromium on a database of your own (a `tracevis bench
// --stats-runs N` fill, say) and on the demo database (`serve --seed-demo`),
// and prints how long each open takes until the page (rendered on the
// server, its figures included) has loaded and shows its heading — what a
// team's shared dashboard waits for.
//
//   TRACEVIS_DB=sqlite:///tmp/s10m.db node end2end/bench/metrics-page.mjs
//   TRACEVIS_DB='postgres://postgres@127.0.0.1:5432/postgres?options[search_path]=s5m' node …
//
// Uses the release build of `cargo leptos build --release` (or $TRACEVIS_BIN),
// whose site (target/site) it serves.
import { chromium } from "@playwright/test";
import { bin, startServer } from "./server.mjs";

const OPENS = Number(process.env.OPENS ?? 9);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/// Resolves once the server's statistics count at least `runs` runs, polling
/// (the demo is seeded through the server's own API after it starts).
async function runsStored(base, runs) {
  for (let i = 0; i < 600; i++) {
    const r = await fetch(`${base}/api/v1/statistics`).catch(() => null);
    if (r?.ok) {
      const total = (await r.json()).executions.total;
      if (total >= runs) return total;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${base}: fewer than ${runs} runs after a minute`);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
console.log(`tracevis metrics-page browser benchmark — ${bin}`);
const databases = [["demo database", { args: ["--seed-demo"] }, 90]];
if (process.env.TRACEVIS_DB) databases.push([`database ${process.env.TRACEVIS_DB.replace(/\/\/[^@/]*@/, "//…@")}`, { databaseUrl: process.env.TRACEVIS_DB }, 1]);
try {
  let port = 3195;
  for (const [label, options, runs] of databases) {
    const { base, server } = await startServer(port++, "metrics", options);
    try {
      const total = await runsStored(base, runs);
      const opens = [];
      for (let attempt = 0; attempt < OPENS; attempt++) {
        const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
        await page.goto(`${base}/stats`, { timeout: 120_000 });
        await page.getByRole("heading", { name: "Metrics" }).waitFor({ timeout: 120_000 });
        await page.waitForLoadState("load");
        opens.push(await page.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd));
        await page.close();
      }
      const ms = opens.map((t) => Math.round(t));
      console.log(`/stats of the ${label} (${total.toLocaleString("en")} runs): median ${median(ms)} ms to load, opens ${ms.join(", ")} ms`);
    } finally {
      server.kill();
    }
  }
} finally {
  await browser.close();
}
