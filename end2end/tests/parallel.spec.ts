import { test, expect } from "./fixtures";

// A fork/join: Plan, then three sources side by side (B the slowest), then
// a join. The page says how parallel it was and which chain decided its
// duration; a visit off that chain says how much slack it had.
test("a fork/join run shows its parallelism, its critical path and each visit's slack", async ({ page, request }) => {
  const id = `fork-join-${Date.now()}`;
  const t0 = Date.parse("2026-04-01T09:00:00Z");
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  expect((await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: "fork_join", start_time: at(0) } })).status()).toBe(201);
  const visit = (node: string, from: number, to: number) => [
    { node_id: node, event_type: "started", timestamp: at(from) },
    { node_id: node, event_type: "completed", timestamp: at(to), duration_ms: to - from },
  ];
  const events = [
    ...visit("Plan", 0, 100),
    ...visit("SourceA", 100, 300),
    ...visit("SourceB", 100, 900),
    ...visit("SourceC", 110, 500),
    ...visit("Join", 900, 1000),
  ];
  expect((await request.post(`/api/v1/executions/${id}/events`, { data: { events } })).ok()).toBeTruthy();
  expect((await request.post(`/api/v1/executions/${id}/complete`, { data: { status: "completed", end_time: at(1000) } })).ok()).toBeTruthy();

  await page.goto(`/executions/${id}`);
  const facts = page.locator(".run-header .facts");
  await expect(facts.getByText("peak 3, average 1.6")).toBeVisible();
  const timeline = page.getByRole("region", { name: "Timeline" });
  await expect(timeline).toContainText("Critical path (outlined): SourceB 80 % (800 ms) · Join 10 % (100 ms) · Plan 10 % (100 ms)");
  await expect(timeline.getByRole("button", { name: "SourceB · completed · 800 ms · critical path" })).toBeVisible();
  await expect(timeline.getByRole("img", { name: "Nodes running at once over the run: at most 3" })).toBeVisible();
  await expect(timeline.getByRole("button", { name: "SourceA · completed · 200 ms", exact: true })).toBeVisible();
  // The graph forks to each source and joins from each, rather than chaining
  // the sources that merely ran side by side.
  const graph = page.getByRole("region", { name: "Graph" });
  await expect(graph.getByRole("img", { name: "Graph of the run: 5 nodes, 6 edges" })).toBeVisible();
  // The graph outlines the critical path too, and says so in words.
  await expect(graph.getByText("critical path (outlined)")).toBeVisible();
  await expect(graph.locator("#graph-nodes-list li").filter({ hasText: "on the critical path" })).toHaveText([
    "Plan: 1 visit, completed, on the critical path",
    "SourceB: 1 visit, completed, on the critical path",
    "Join: 1 visit, completed, on the critical path",
  ]);
  await page.screenshot({ path: "test-results/parallel-run.png", fullPage: true });

  await timeline.getByRole("button", { name: "SourceA · completed · 200 ms", exact: true }).click();
  await expect(page.getByText("off it: 600 ms of slack")).toBeVisible();
  await timeline.getByRole("button", { name: /^SourceB/ }).click();
  await expect(page.locator(".node-details")).toContainText("Critical pathon it");
});

test("a run that ran one node at a time has no critical path to outline", async ({ page, request }) => {
  const id = `sequential-${Date.now()}`;
  expect((await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: "seq", start_time: "2026-04-01T09:00:00Z" } })).status()).toBe(201);
  const events = [
    { node_id: "A", event_type: "completed", timestamp: "2026-04-01T09:00:01Z", duration_ms: 1000 },
    { node_id: "B", event_type: "completed", timestamp: "2026-04-01T09:00:03Z", duration_ms: 2000 },
  ];
  expect((await request.post(`/api/v1/executions/${id}/events`, { data: { events } })).ok()).toBeTruthy();
  expect((await request.post(`/api/v1/executions/${id}/complete`, { data: { status: "completed", end_time: "2026-04-01T09:00:03Z" } })).ok()).toBeTruthy();
  await page.goto(`/executions/${id}`);
  await expect(page.locator(".run-header .facts").getByText("peak 1, average 1.0")).toBeVisible();
  await expect(page.getByRole("region", { name: "Timeline" })).not.toContainText("Critical path");
  await expect(page.getByRole("img", { name: /running at once/ })).toHaveCount(0);
});

/** Posts a finished run of `visits` ([node, from ms, to ms, parent nodes]), each
 * visit's started event named `<node>` so later visits can name it as a parent. */
async function postLinkedRun(
  request: import("@playwright/test").APIRequestContext,
  id: string,
  visits: [string, number, number, string[]][],
) {
  const t0 = Date.parse("2026-04-02T09:00:00Z");
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  expect((await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: "side_task", start_time: at(0) } })).status()).toBe(201);
  const events = visits.flatMap(([node, from, to, parents]) => [
    { event_id: node, node_id: node, event_type: "started", timestamp: at(from), parents },
    { event_id: `${node}-end`, node_id: node, event_type: "completed", timestamp: at(to), duration_ms: to - from },
  ]);
  const end = Math.max(...visits.map(([, , to]) => to));
  expect((await request.post(`/api/v1/executions/${id}/events`, { data: { events } })).ok()).toBeTruthy();
  expect((await request.post(`/api/v1/executions/${id}/complete`, { data: { status: "completed", end_time: at(end) } })).ok()).toBeTruthy();
}

// Report follows Summarize only (its producer says so); Fetch ran beside
// Summarize and ended later, but nothing waited for it. Read off the
// timeline alone, Report would seem to wait for Fetch.
test("a run whose producer named each visit's parents is drawn and timed by them, and lays out in lanes", async ({ page, request }) => {
  const id = `side-task-${Date.now()}`;
  await postLinkedRun(request, id, [
    ["Plan", 0, 100, []],
    ["Fetch", 100, 600, ["Plan"]],
    ["Summarize", 100, 300, ["Plan"]],
    ["Report", 600, 700, ["Summarize"]],
  ]);
  await page.goto(`/executions/${id}`);
  const timeline = page.getByRole("region", { name: "Timeline" });
  await expect(timeline).toContainText("Critical path (outlined): Summarize 50 % (200 ms) · Plan 25 % (100 ms) · Report 25 % (100 ms)");
  await expect(timeline.getByRole("button", { name: "Fetch · completed · 500 ms", exact: true })).toBeVisible();
  const graph = page.getByRole("region", { name: "Graph" });
  await expect(graph.getByRole("img", { name: "Graph of the run: 4 nodes, 3 edges" })).toBeVisible();

  // Report's details say what it follows; the link opens that visit.
  await timeline.getByRole("button", { name: /^Report/ }).click();
  const details = page.locator(".node-details");
  await details.getByRole("button", { name: "Open the visit it follows: Summarize" }).click();
  await expect(page.getByRole("heading", { name: "Node Summarize" })).toBeVisible();
  await expect(details).toContainText("Critical pathon it");

  // Lanes: Plan, Fetch and Report one after another; Summarize beside Fetch.
  await timeline.getByRole("combobox", { name: "Timeline layout" }).selectOption("lanes");
  await expect(page).toHaveURL(/layout=lanes/);
  const lanes = timeline.getByRole("list", { name: "Timeline by lane" });
  await expect(lanes.getByRole("listitem")).toHaveCount(2);
  await expect(lanes.getByRole("listitem").nth(0)).toContainText("Lane 1 · Fetch, Plan, Report");
  await expect(lanes.getByRole("listitem").nth(1)).toContainText("Lane 2 · Summarize");
  await lanes.getByRole("button", { name: "Fetch · completed · 500 ms", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Node Fetch" })).toBeVisible();
  await expect(details).toContainText("off it: 100 ms of slack");
  await page.screenshot({ path: "test-results/parallel-lanes.png", fullPage: true });
  await page.reload();
  await expect(timeline.getByRole("list", { name: "Timeline by lane" })).toBeVisible();

  // The metrics page counts the run among those that ran nodes side by
  // side, and its critical path's nodes among the ones that decide runs.
  await page.goto("/stats?graph_type=side_task");
  const parallel = page.getByRole("region", { name: "Parallelism" });
  await expect(parallel.getByText("Runs that ran nodes side by side", { exact: true })).toBeVisible();
  await expect(parallel.getByRole("definition").filter({ hasText: / of / })).toHaveText(/^[1-9]\d* of [1-9]\d*$/);
  const critical = parallel.getByRole("table", { name: "Node types most often on the critical path" });
  await expect(critical.getByRole("rowheader", { name: "Summarize" })).toBeVisible();
  await expect(critical.getByRole("rowheader", { name: "Fetch" })).toHaveCount(0);
  await parallel.screenshot({ path: "test-results/parallel-stats.png" });
});

// Two runs of one fork/join: in b, the branches ended in another order and
// another branch decided the run. Compare lines them up without a
// divergence and says which changes were on a critical path.
test("compare calls out the changes on the critical path of two fork/join runs", async ({ page, request }) => {
  const stamp = Date.now();
  const [a, b] = [`fork-a-${stamp}`, `fork-b-${stamp}`];
  await postLinkedRun(request, a, [
    ["Plan", 0, 100, []],
    ["SourceA", 100, 300, ["Plan"]],
    ["SourceB", 100, 900, ["Plan"]],
    ["SourceC", 110, 500, ["Plan"]],
    ["Join", 900, 1000, ["SourceA", "SourceB", "SourceC"]],
  ]);
  await postLinkedRun(request, b, [
    ["Plan", 0, 100, []],
    ["SourceC", 100, 700, ["Plan"]],
    ["SourceA", 100, 600, ["Plan"]],
    ["SourceB", 105, 400, ["Plan"]],
    ["Join", 700, 800, ["SourceA", "SourceB", "SourceC"]],
  ]);
  await page.goto(`/compare?a=${a}&b=${b}`);
  await expect(page.getByRole("note").filter({ hasText: "The runs took the same path" })).toBeVisible();
  const callouts = page.getByRole("region", { name: "Changes on the critical path" });
  await expect(callouts.getByRole("listitem")).toHaveText([
    "SourceB got 505 ms faster; it was on run a's critical path",
    "SourceC got 210 ms slower and is on run b's critical path",
  ]);
  await callouts.getByRole("link", { name: /SourceC got/ }).click();
  await expect(page).toHaveURL(/#step-4$/);
  await expect(page.locator("#step-4")).toContainText("critical path");
  await page.screenshot({ path: "test-results/parallel-compare.png", fullPage: true });
});
