// The live run page must end up equal to a freshly loaded one. A test
// producer plays several runs at once with random timing, retries, failures,
// cache hits, bursts (many visits in one batch) and an ending batch followed
// at once by the completion; a page opened on each run mid-run is compared,
// part by part, with a fresh page of the same run once the run has ended.
import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";
import { TestServer } from "./server";

// A small seeded generator (mulberry32): a failure names its seed, and the
// same seed replays the same runs.
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NODES = ["PlanNode", "SearchNode", "DraftNode", "ReviewNode"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Batch = { events: object[]; snapshots: object[] };

/** Plays one run: returns once its completion is posted. `opened` resolves
 * when the first batch is stored, so the page can be opened mid-run. */
async function playRun(server: TestServer, id: string, random: () => number, opened: () => void) {
  await server.post("/api/v1/executions", { execution_id: id, graph_type: "differential", initial_state: { step: 0 } });
  let clock = Date.now();
  let n = 0;
  const at = (ms: number) => new Date((clock += ms)).toISOString();
  const visits = 6 + Math.floor(random() * 8);
  let pending: Batch = { events: [], snapshots: [] };
  const flush = async () => {
    if (pending.events.length + pending.snapshots.length === 0) return;
    await server.post(`/api/v1/executions/${id}/events`, pending);
    pending = { events: [], snapshots: [] };
  };
  let failedRun = false;
  for (let v = 0; v < visits; v++) {
    const node = NODES[Math.floor(random() * NODES.length)];
    const attempts = random() < 0.25 ? 2 : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      pending.events.push({ event_id: `${id}-${n++}`, node_id: node, event_type: "started", timestamp: at(1), metadata: { attempt } });
      // Most visits are sent started-first, so the page sees them running.
      const burst = random() < 0.3;
      if (!burst) await flush();
      if (v === 0 && attempt === 1) opened();
      if (!burst) await sleep(20 + random() * 120);
      const took = 5 + Math.floor(random() * 200);
      const r = random();
      const lastAttempt = attempt === attempts;
      const kind = !lastAttempt ? "failed" : r < 0.15 ? "cached" : r < 0.22 && v === visits - 1 ? "failed" : "completed";
      pending.events.push({
        event_id: `${id}-${n++}`, node_id: node, event_type: kind, timestamp: at(took), duration_ms: took,
        error: kind === "failed" ? `${node} failed on attempt ${attempt}` : null,
        metadata: { attempt, ...(kind === "cached" ? { saved_ms: 300 } : { llm_calls: 1, tokens: 100 + v }) },
      });
      if (kind === "failed" && lastAttempt) failedRun = true;
    }
    pending.snapshots.push({ snapshot_id: `${id}-s${v}`, node_id: node, timestamp: at(1), state: { step: v + 1, last: node } });
    if (random() < 0.5) await flush();
  }
  // The ending batch and the completion back to back: their frames may
  // reach the page together.
  await flush();
  await server.post(`/api/v1/executions/${id}/complete`, {
    status: failedRun ? "failed" : "completed",
    final_state: { step: visits, done: true },
  });
}

/** What a person sees of a run page, part by part. */
async function pageState(page: Page) {
  const graph = page.getByRole("region", { name: "Graph" });
  // The graph and state history are lazy sections: wait until they are drawn.
  await expect(graph.getByRole("img")).toBeVisible({ timeout: 20_000 });
  const history = page.getByRole("region", { name: "State history" });
  await expect(history).toContainText(/Step \d|has no state snapshots/, { timeout: 20_000 });
  return {
    header: await page.locator(".run-header .facts > div").allTextContents(),
    status: await page.locator(".run-header .badge").first().textContent(),
    timeline: await page.getByRole("region", { name: "Timeline" }).getByRole("listitem").allTextContents(),
    graph: await graph.getByRole("img").getAttribute("aria-label"),
    graphNodes: (await graph.locator("g.gnode").evaluateAll((gs) => gs.map((g) => `${g.getAttribute("class")} ${g.textContent}`))).sort(),
    graphEdges: (await graph.locator(".edge-label").allTextContents()).sort(),
    steps: (await history.textContent())?.match(/Step \d+ of \d+/)?.[0],
    events: (await page.getByRole("region", { name: "Node events" }).getByRole("row").allTextContents()).map((r) => r.trim()),
    finalState: await page.getByRole("region", { name: "Final state" }).textContent(),
  };
}

test("a live run page ends up showing exactly what a fresh load of the run shows", async ({ browser }) => {
  test.setTimeout(90_000);
  const server = new TestServer(3113);
  await server.start();
  const seed = Number(process.env.TRACEVIS_DIFF_SEED ?? Date.now() % 100_000);
  console.log(`differential live test, seed ${seed}`);
  try {
    const random = rng(seed);
    const ids = [0, 1, 2, 3].map((i) => `diff-${seed}-${i}`);
    const livePages: Page[] = [];
    const pageErrors: string[] = [];
    const plays = ids.map((id, i) => {
      let open!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      const play = (async () => {
        await sleep(i * 150);
        await playRun(server, id, rng(seed * 10 + i), open);
      })();
      const watch = (async () => {
        await opened;
        const page = await browser.newPage();
        page.on("pageerror", (e) => pageErrors.push(`${id}: ${e.message}`));
        page.on("console", (m) => { if (m.type() === "error") pageErrors.push(`${id} console: ${m.text()}`); });
        livePages[i] = page;
        await page.goto(`${server.url}/executions/${id}`);
        await expect(page.getByRole("status")).toHaveText(/Live|Finished/);
      })();
      return Promise.all([play, watch]);
    });
    await Promise.all(plays);
    void random;

    for (const [i, id] of ids.entries()) {
      const live = livePages[i];
      await expect(live.getByRole("status")).toHaveText("Finished");
      const fresh = await browser.newPage();
      await fresh.goto(`${server.url}/executions/${id}`);
      const expected = await pageState(fresh);
      expect(expected.timeline.length, "the run has visits").toBeGreaterThan(5);
      expect(expected.timeline.join("\n"), "a finished run has no running visit").not.toContain("running");
      await expect.poll(() => pageState(live), { message: `live page of ${id} (seed ${seed}); page errors: ${pageErrors.join("; ")}`, timeout: 10_000 }).toEqual(expected);
      await fresh.close();
      await live.close();
    }
  } finally {
    await server.kill();
  }
});

test("the live run list shows each run's status and duration as a reload does", async ({ page, browser }) => {
  const server = new TestServer(3114);
  await server.start();
  try {
    await server.post("/api/v1/executions", { execution_id: "seed-run", graph_type: "differential" });
    await page.goto(`${server.url}/`);
    await expect(page.getByRole("status")).toHaveText("Live");
    const random = rng(7);
    await Promise.all([0, 1, 2].map((i) => playRun(server, `list-${i}`, rng(70 + i), () => {})));
    void random;
    const rowsOf = async (p: Page) =>
      Promise.all(
        ["list-0", "list-1", "list-2"].map((id) => p.getByRole("row").filter({ hasText: id }).first().textContent()),
      );
    const fresh = await browser.newPage();
    await fresh.goto(`${server.url}/`);
    const expected = await rowsOf(fresh);
    for (const row of expected) expect(row).toMatch(/completed|failed/);
    await expect.poll(() => rowsOf(page), { timeout: 10_000 }).toEqual(expected);
    await fresh.close();
  } finally {
    await server.kill();
  }
});

// Flaky on CI (its lazy sections sometimes draw late after the 1,000-frame burst): off until fixed, see the closing note of issue 18.
test.fixme("the live page equals a reload after a server restart, a burst of 1,000 events and spans that arrive after the run ended", async ({ browser }) => {
  test.setTimeout(90_000);
  const server = new TestServer(3115);
  await server.start();
  try {
    // A run over the JSON API: the server restarts mid-run, then a burst.
    const id = `burst-${Date.now()}`;
    await server.post("/api/v1/executions", { execution_id: id, graph_type: "differential" });
    const t0 = Date.now();
    const visit = (i: number, node: string) => [
      { event_id: `${id}-${i}s`, node_id: node, event_type: "started", timestamp: new Date(t0 + i * 10).toISOString() },
      { event_id: `${id}-${i}e`, node_id: node, event_type: i % 7 === 0 ? "failed" : "completed",
        timestamp: new Date(t0 + i * 10 + 5).toISOString(), duration_ms: 5, error: i % 7 === 0 ? "boom" : null },
    ];
    await server.post(`/api/v1/executions/${id}/events`, { events: visit(0, "PlanNode") });
    const live = await browser.newPage();
    await live.goto(`${server.url}/executions/${id}`);
    await expect(live.getByRole("status")).toHaveText("Live");
    await server.kill();
    await expect(live.getByRole("status")).toHaveText(/Reconnecting|Offline/);
    await server.start();
    await server.post(`/api/v1/executions/${id}/events`, { events: visit(1, "SearchNode") });
    await expect(live.getByRole("status")).toHaveText("Live", { timeout: 15_000 });
    const burst = Array.from({ length: 500 }, (_, i) => visit(i + 2, ["DraftNode", "ReviewNode"][i % 2])).flat();
    await server.post(`/api/v1/executions/${id}/events`, { events: burst });
    await server.post(`/api/v1/executions/${id}/complete`, { status: "completed" });
    await expect(live.getByRole("status")).toHaveText("Finished");
    const fresh = await browser.newPage();
    await fresh.goto(`${server.url}/executions/${id}`);
    const expected = await pageState(fresh);
    expect(expected.header.join(" ")).toContain("502");
    // 1,000 frames at once: the page applies them one by one, give it time.
    await expect.poll(() => pageState(live), { timeout: 30_000 }).toEqual(expected);

    // A run from OpenTelemetry spans: a node span arrives after the run span
    // ended the run (spans come in any order).
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const nanos = (ms: number) => String(BigInt(t0 + ms) * 1_000_000n);
    const span = (id: string, parent: string | null, name: string, from: number, to: number) => ({
      traceId: trace, spanId: id, ...(parent ? { parentSpanId: parent } : {}), name,
      startTimeUnixNano: nanos(from), endTimeUnixNano: nanos(to),
    });
    const otlp = (spans: object[]) =>
      fetch(`${server.url}/v1/traces`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }),
      }).then((r) => expect(r.status).toBe(200));
    await otlp([span("00f067aa0ba902b1", "00f067aa0ba902b0", "run node Plan", 1, 10)]);
    const watching = await browser.newPage();
    await watching.goto(`${server.url}/executions/${trace}`);
    await expect(watching.getByRole("status")).toHaveText("Live");
    await otlp([span("00f067aa0ba902b0", null, "run graph spans_late", 0, 40)]);
    await expect(watching.getByRole("status")).toHaveText("Finished");
    await otlp([span("00f067aa0ba902b2", "00f067aa0ba902b0", "run node Translate", 11, 30)]);
    const reloaded = await browser.newPage();
    await reloaded.goto(`${server.url}/executions/${trace}`);
    const after = await pageState(reloaded);
    expect(after.timeline).toEqual(["Plan · completed · 9 ms", "Translate · completed · 19 ms"]);
    await expect.poll(() => pageState(watching), { timeout: 10_000 }).toEqual(after);
  } finally {
    await server.kill();
  }
});
