import { test, expect } from "./fixtures";
import { TestServer } from "./server";

function events(prefix: string, n: number, node: string) {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `${prefix}${i}`,
    node_id: node,
    event_type: i % 2 === 0 ? "started" : "completed",
    timestamp: new Date().toISOString(),
    duration_ms: i % 2 === 0 ? undefined : 25,
  }));
}

test("a running run's new nodes appear without a reload and survive a server restart", async ({ page }) => {
  const server = new TestServer(3111);
  await server.start();
  try {
    const id = `live-${Date.now()}`;
    await server.post("/api/v1/executions", { execution_id: id, graph_type: "live_graph" });
    const snapshot = (node: string, step: number) => ({ node_id: node, timestamp: new Date().toISOString(), state: { step } });
    await server.post(`/api/v1/executions/${id}/events`, { events: events("a", 2, "PlanNode"), snapshots: [snapshot("PlanNode", 1)] });

    await page.goto(`${server.url}/executions/${id}`);
    const status = page.getByRole("status");
    await expect(status).toHaveText("Live");
    const rows = page.getByRole("region", { name: "Node events" }).getByRole("row");
    await expect(rows).toHaveCount(3);
    // A marker that a reload would wipe out.
    await page.evaluate(() => ((window as any).__notReloaded = true));

    const history = page.getByRole("region", { name: "State history" });
    await expect(history).toContainText("Step 1 of 1 — after PlanNode");
    const graph = page.getByRole("region", { name: "Graph" });
    await expect(graph.getByRole("img", { name: "Graph of the run: 1 node, 0 edges" })).toBeVisible();

    await server.post(`/api/v1/executions/${id}/events`, { events: events("b", 2, "SearchNode"), snapshots: [snapshot("SearchNode", 2)] });
    await expect(rows).toHaveCount(5);
    await expect(rows.nth(4)).toContainText("SearchNode");
    // The timeline, the graph and the state history grow with it.
    await expect(page.getByRole("region", { name: "Timeline" }).getByRole("listitem")).toHaveCount(2);
    await expect(graph.getByRole("img", { name: "Graph of the run: 2 nodes, 1 edge" })).toBeVisible();
    await expect(history).toContainText("Step 2 of 2 — after SearchNode");
    await expect(history.getByRole("row").filter({ hasText: "/step" })).toContainText("changed");

    await server.kill();
    await expect(status).toHaveText(/Reconnecting|Offline/);
    await server.start();
    await server.post(`/api/v1/executions/${id}/events`, { events: events("c", 2, "WriteNode") });
    await expect(status).toHaveText("Live", { timeout: 15_000 });
    await expect(rows).toHaveCount(7);
    const seqs = await rows.locator("td:first-child").allTextContents();
    // Each snapshot takes a seq too (3 and 6): every event once, in order.
    expect(seqs).toEqual(["1", "2", "4", "5", "7", "8"]);

    // Two nodes start side by side: the header says so while the run runs.
    const parallelism = page.locator(".run-header .facts div").filter({ hasText: "Parallelism" });
    await expect(parallelism).toContainText("0 running now, peak so far 1");
    const now = new Date().toISOString();
    await server.post(`/api/v1/executions/${id}/events`, {
      events: ["FetchA", "FetchB"].map((node) => ({ event_id: `p-${node}`, node_id: node, event_type: "started", timestamp: now })),
    });
    await expect(parallelism).toContainText("2 running now, peak so far 2");

    await server.post(`/api/v1/executions/${id}/complete`, { status: "completed" });
    await expect(status).toHaveText("Finished");
    await expect(parallelism).toContainText(/peak 2, average/);
    await expect(page.locator(".run-header .badge")).toHaveText("completed");
    expect(await page.evaluate(() => (window as any).__notReloaded)).toBe(true);
  } finally {
    await server.kill();
  }
});

test("the run list shows a run that starts, and its finish, without a reload", async ({ page }) => {
  const server = new TestServer(3112);
  await server.start();
  try {
    await server.post("/api/v1/executions", { execution_id: "first-run", graph_type: "g" });
    await page.goto(`${server.url}/`);
    await expect(page.getByRole("status")).toHaveText("Live");
    await server.post("/api/v1/executions", { execution_id: "appears-live", graph_type: "g" });
    const row = page.getByRole("row").filter({ hasText: "appears-live" });
    await expect(row).toContainText("running");
    await expect(row).toContainText("so far");
    await server.post("/api/v1/executions/appears-live/complete", { status: "failed" });
    await expect(row).toContainText("failed");
  } finally {
    await server.kill();
  }
});
