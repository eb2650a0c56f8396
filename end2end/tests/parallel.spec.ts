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
