// Browser benchmark for a long live run: a running run already holds
// 50,000 node events (25,000 visits) when its page opens; then events keep
// arriving, one live frame each, and this measures how fast the page takes
// them in: frames per second applied, and the main thread's long tasks.
//
//   node end2end/bench/live-run.mjs            (uses the release build if present)
//   HEIGHT=400 LIVE=600 node end2end/bench/live-run.mjs   (viewport height, live frames)
//   TRACEVIS_BIN=/path/to/tracevis node end2end/bench/live-run.mjs
import { chromium } from "@playwright/test";
import { bin, startServer } from "./server.mjs";

const STORED = Number(process.env.STORED ?? 50_000);
const LIVE = Number(process.env.LIVE ?? 2_000);
const { base, server, post } = await startServer(3191, "live");

const nodes = ["PlanNode", "SearchNode", "FetchNode", "SummarizeNode", "ReviewNode", "TranslateNode", "FormatNode", "PublishNode"];
const start = Date.parse("2026-01-01T00:00:00Z");
const event = (i) => {
  const visit = Math.floor(i / 2);
  return {
    node_id: nodes[visit % nodes.length],
    event_type: i % 2 === 0 ? "started" : "completed",
    timestamp: new Date(start + i * 10).toISOString(),
    duration_ms: i % 2 === 0 ? undefined : 10,
  };
};
async function postEvents(id, from, to, perBatch) {
  for (let b = from; b < to; b += perBatch) {
    const batch = [];
    for (let i = b; i < Math.min(b + perBatch, to); i++) batch.push(event(i));
    await post(`/api/v1/executions/${id}/events`, { events: batch });
  }
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
console.log(`tracevis live-run browser benchmark — ${bin}`);
try {
  const id = "live-long";
  await post("/api/v1/executions", { execution_id: id, graph_type: "live", start_time: new Date(start).toISOString() });
  await postEvents(id, 0, STORED, 1000);
  const page = await browser.newPage({ viewport: { width: 1366, height: Number(process.env.HEIGHT ?? 900) } });
  await page.goto(`${base}/executions/${id}`, { timeout: 120_000 });
  await page.waitForFunction(() => performance.getEntriesByName("tracevis:run-ready").length > 0, null, { timeout: 120_000 });
  await page.getByText("Live", { exact: true }).waitFor({ timeout: 60_000 });
  // Main-thread busy time while the frames arrive: long tasks (> 50 ms)
  // and the total of all task time the browser reports.
  await page.evaluate(() => {
    window.__busy = { longTasks: 0, longMs: 0 };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) { window.__busy.longTasks++; window.__busy.longMs += e.duration; }
    }).observe({ type: "longtask", buffered: false });
  });
  const wantVisits = (STORED + LIVE) / 2;
  const t0 = Date.now();
  // 50 events per request: each is its own live frame.
  await postEvents(id, STORED, STORED + LIVE, 50);
  const posted = Date.now();
  await page.waitForFunction(
    (want) => [...document.querySelectorAll(".facts div")].some((d) => d.querySelector("dt")?.textContent === "Node visits" && d.querySelector("dd")?.textContent === String(want)),
    wantVisits,
    { timeout: 600_000, polling: 20 },
  );
  const applied = Date.now();
  const busy = await page.evaluate(() => window.__busy);
  const seconds = (applied - t0) / 1000;
  console.log(
    `${STORED.toLocaleString("en")} stored events, then ${LIVE.toLocaleString("en")} live frames: posted in ${((posted - t0) / 1000).toFixed(2)} s, ` +
      `all shown after ${seconds.toFixed(2)} s → ${(LIVE / seconds).toFixed(0)} frames/s applied; ` +
      `long tasks: ${busy.longTasks} (${busy.longMs.toFixed(0)} ms)`,
  );
  await page.close();
} finally {
  await browser.close();
  server.kill("SIGKILL");
}
