import * as fs from "fs";
import { test, expect, APIRequestContext } from "./fixtures";

// A run with a retry, a cache hit and a state that changes at every node.
async function postRun(request: APIRequestContext, id: string) {
  const t = (s: number) => `2026-03-01T09:00:${String(s).padStart(2, "0")}Z`;
  expect(
    (
      await request.post("/api/v1/executions", {
        data: {
          execution_id: id,
          graph_type: "page_graph",
          start_time: t(0),
          original_inputs: { prompt: "hi" },
          initial_state: { draft: { title: null }, sources: [] },
        },
      })
    ).status(),
  ).toBe(201);
  const events = [
    {
      node_id: "PlanNode", event_type: "started", timestamp: t(0),
      inputs: { topic: "rust", options: { depth: 2, sources: ["web", "docs"] }, note: "<img src=x onerror=alert(1)>" },
    },
    { node_id: "PlanNode", event_type: "completed", timestamp: t(2), duration_ms: 2000, outputs: { plan: "search twice" } },
    { node_id: "SearchNode", event_type: "started", timestamp: t(2), metadata: { attempt: 1 } },
    { node_id: "SearchNode", event_type: "failed", timestamp: t(3), duration_ms: 1000, error: "TimeoutError", metadata: { attempt: 1 } },
    { node_id: "SearchNode", event_type: "started", timestamp: t(4), metadata: { attempt: 2 } },
    { node_id: "SearchNode", event_type: "completed", timestamp: t(5), duration_ms: 1000, metadata: { attempt: 2 } },
    { node_id: "CacheNode", event_type: "cached", timestamp: t(6), duration_ms: 2, metadata: { saved_ms: 900 } },
  ];
  const snapshots = [
    { node_id: "PlanNode", timestamp: t(2), state: { draft: { title: "Plan" }, sources: [] } },
    { node_id: "SearchNode", timestamp: t(5), state: { draft: { title: "Plan" }, sources: ["a.org"] } },
  ];
  expect((await request.post(`/api/v1/executions/${id}/events`, { data: { events, snapshots } })).ok()).toBeTruthy();
  expect((await request.post(`/api/v1/executions/${id}/complete`, { data: { status: "completed", end_time: t(7) } })).ok()).toBeTruthy();
}

test("a user reads a run: timeline, node details, state history with time travel", async ({ page, request }) => {
  const id = `page-${Date.now()}`;
  await postRun(request, id);
  await page.goto(`/executions/${id}`);

  // The run's inputs, folded under the header.
  await page.getByText("Run inputs").click();
  await expect(page.locator(".run-inputs")).toContainText('"prompt": "hi"');

  const timeline = page.getByRole("region", { name: "Timeline" });
  const bars = timeline.getByRole("listitem");
  // A time axis from the run's start: 7 s, a tick a second.
  await expect(timeline.locator(".timeline-axis .tick")).toHaveText(["0", "1 s", "2 s", "3 s", "4 s", "5 s", "6 s", "7 s"]);
  await expect(bars).toHaveCount(4);
  await expect(bars.nth(1)).toContainText("SearchNode · failed");
  await expect(bars.nth(2)).toContainText("SearchNode · attempt 2 · completed");
  await expect(bars.nth(3)).toContainText("CacheNode · cached · 2 ms · saved 900 ms");

  // Filter the timeline to one node type: in the URL.
  await timeline.getByLabel("Node type").selectOption("SearchNode");
  await expect(page).toHaveURL(/node=SearchNode/);
  await expect(bars).toHaveCount(2);
  await timeline.getByLabel("Node type").selectOption("");
  await expect(bars).toHaveCount(4);

  // Zoom: in the URL once the slider is let go, and restored from it.
  await timeline.getByLabel("Zoom").fill("10");
  await expect(page).toHaveURL(/zoom=10/);
  await page.reload();
  await expect(page.getByRole("region", { name: "Timeline" }).getByLabel("Zoom")).toHaveValue("10");

  // Node details on click, selection in the URL.
  await bars.nth(0).getByRole("button").click();
  await expect(page).toHaveURL(/visit=0/);
  const details = page.getByRole("complementary", { name: "Node PlanNode" });
  await expect(details).toContainText('"topic": "rust"');
  await expect(details).toContainText('"plan": "search twice"');
  // The JSON folds: the third level starts folded and opens on a click.
  const sources = details.locator("summary", { hasText: '"sources": [' });
  await expect(sources).toContainText("2 items");
  // Its entries are not even in the page until it is opened (built lazily).
  await expect(details.getByText('"docs"')).toHaveCount(0);
  await sources.click();
  await expect(details.getByText('"docs"')).toBeVisible();
  // Producers' text is shown as text, never as markup.
  await expect(details).toContainText('"note": "<img src=x onerror=alert(1)>"');
  await expect(details.locator("img")).toHaveCount(0);
  // How this visit compares with its node type's usual durations.
  await expect(details.getByRole("note")).toContainText(/Usually for this node type: p50 [\d.]+ s · p95 [\d.]+ s — this visit: /);
  // The keyboard moves between visits and closes the details.
  await bars.nth(0).getByRole("button").focus();
  await page.keyboard.press("ArrowDown");
  await expect(page).toHaveURL(/visit=1/);
  await expect(page.getByRole("complementary", { name: "Node SearchNode" })).toContainText("Error: TimeoutError");
  await expect(bars.nth(1).getByRole("button")).toHaveAttribute("aria-pressed", "true");
  await page.keyboard.press("Escape");
  await expect(page.getByRole("complementary")).toHaveCount(0);
  await expect(page).not.toHaveURL(/visit=/);
  await bars.nth(1).getByRole("button").click();
  await expect(page.getByRole("complementary", { name: "Node SearchNode" })).toContainText("Error: TimeoutError");

  // The graph: inferred from the visits (none declared), edges counted, the
  // retry not drawn as an edge.
  const graph = page.getByRole("region", { name: "Graph" });
  await expect(graph).toContainText("No graph was declared");
  const drawing = graph.getByRole("img", { name: "Graph of the run: 3 nodes, 2 edges" });
  await expect(drawing).toBeVisible();
  await expect(drawing.locator(".gnode-failed")).toHaveCount(0);
  await expect(drawing.locator(".gnode-cached")).toContainText("CacheNode");
  await expect(drawing.locator(".gnode", { hasText: "SearchNode" })).toContainText("2×");

  // State history: the scrubber travels through stored snapshots.
  const history = page.getByRole("region", { name: "State history" });
  await expect(history).toContainText("Step 3 of 3 — after SearchNode");
  await expect(history.getByRole("row").filter({ hasText: "/sources/0" })).toContainText("added");
  await history.getByRole("button", { name: "← Previous" }).click();
  await expect(page).toHaveURL(/step=2/);
  await expect(history).toContainText("Step 2 of 3 — after PlanNode");
  await expect(history.getByRole("row").filter({ hasText: "/draft/title" })).toContainText('"Plan"');
  await history.getByLabel("Field path").fill("/draft/title");
  await expect(history.getByRole("note")).toHaveText("/draft/title was last changed by PlanNode at step 2");

  // The whole view state survives a reload from its URL.
  await page.reload();
  await expect(page.getByRole("complementary", { name: "Node SearchNode" })).toBeVisible();
  await expect(history).toContainText("Step 2 of 3 — after PlanNode");
});

test("a run downloads as a tracevis file and as a Chrome trace", async ({ page, request }) => {
  const id = `export-${Date.now()}`;
  await postRun(request, id);
  await page.goto(`/executions/${id}`);
  const actions = page.getByRole("navigation", { name: "Run actions" });

  const [json] = await Promise.all([page.waitForEvent("download"), actions.getByRole("link", { name: "Download JSON" }).click()]);
  expect(json.suggestedFilename()).toBe(`${id}.tracevis.json`);
  const file = JSON.parse(fs.readFileSync(await json.path(), "utf8"));
  expect(file.format).toBe("tracevis.execution.v1");
  expect(file.trace.execution_id).toBe(id);
  expect(file.trace.node_events).toHaveLength(7);

  const [chrome] = await Promise.all([page.waitForEvent("download"), actions.getByRole("link", { name: "Chrome trace" }).click()]);
  expect(chrome.suggestedFilename()).toBe(`${id}.chrome-trace.json`);
  const trace = JSON.parse(fs.readFileSync(await chrome.path(), "utf8"));
  const slices = trace.traceEvents.filter((e: { ph: string }) => e.ph === "X").map((e: { name: string }) => e.name);
  expect(slices).toEqual(["PlanNode", "SearchNode", "SearchNode", "CacheNode"]);
});

test("a run that does not exist, and a run with nothing in it yet, say so", async ({ page, request }) => {
  const response = await page.goto("/executions/no-such-run");
  await expect(page.getByRole("heading", { name: "Run not found" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Run not found" })).toContainText("no-such-run");
  expect(response?.status()).toBeLessThan(500);
  await page.screenshot({ path: "test-results/run-not-found.png" });
  await page.getByRole("link", { name: "Back to all runs" }).click();
  await expect(page).toHaveURL(/\/$/);
  // An id no run can have (a space is outside the id rules) says why.
  await page.goto("/executions/bad%20id");
  await expect(page.getByRole("heading", { name: "Run not found" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Run not found" })).toContainText("No run can have the id bad id");
  await expect(page.getByRole("region", { name: "Run not found" })).toContainText("only ASCII letters, digits");
  await page.screenshot({ path: "test-results/run-id-invalid.png" });

  const id = `empty-${Date.now()}`;
  expect((await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: "empty_graph" } })).status()).toBe(201);
  await page.goto(`/executions/${id}`);
  await expect(page.getByRole("status")).toHaveText("Live");
  await expect(page.getByRole("region", { name: "Timeline" })).toContainText("0 visits");
  await expect(page.getByRole("region", { name: "Graph" })).toContainText("No nodes yet.");
  await expect(page.getByRole("region", { name: "State history" })).toContainText("This run has no state snapshots.");
  await expect(page.getByRole("region", { name: "Final state" })).toContainText("No final state yet: the run is still going.");
  // Finished without a final state: said as a fact, not as "yet".
  expect((await request.post(`/api/v1/executions/${id}/complete`, { data: { status: "completed" } })).status()).toBe(200);
  await expect(page.getByRole("status")).toHaveText("Finished");
  await expect(page.getByRole("region", { name: "Final state" })).toContainText("No final state was recorded.");
});

test("runs at the edges of the accepted ranges open, compare and export", async ({ page, request }) => {
  const stamp = Date.now();
  const ids: string[] = [];
  for (const [name, start] of [["early", "1970-01-01T00:00:00Z"], ["late", "9999-12-31T23:00:00Z"]]) {
    const id = `edge-${name}-${stamp}`;
    ids.push(id);
    expect((await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: "edges", start_time: start } })).status()).toBe(201);
    // An ending event with no start, lasting the longest accepted duration (ten years).
    const events = [{ node_id: "SlowNode", event_type: "completed", timestamp: start, duration_ms: 315576000000, metadata: { tokens: 1e12 } }];
    expect((await request.post(`/api/v1/executions/${id}/events`, { data: { events } })).ok()).toBeTruthy();
    expect((await request.post(`/api/v1/executions/${id}/complete`, { data: { status: "completed", end_time: start } })).ok()).toBeTruthy();
    await page.goto(`/executions/${id}`);
    await expect(page.getByRole("region", { name: "Timeline" })).toContainText("SlowNode");
  }
  await page.goto(`/compare?a=${ids[0]}&b=${ids[1]}`);
  await expect(page.getByRole("region", { name: "Aligned steps" })).toContainText("SlowNode");
});
