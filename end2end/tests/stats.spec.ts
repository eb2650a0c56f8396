import { test, expect } from "./fixtures";

test("the metrics page shows the figures of the runs posted, linking to them", async ({ page, request }) => {
  const graph = `stats_graph_${Date.now()}`;
  for (let i = 0; i < 4; i++) {
    const id = `${graph}-${i}`;
    await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: graph, start_time: "2026-05-01T10:00:00Z" } });
    const failed = i === 3;
    await request.post(`/api/v1/executions/${id}/events`, {
      data: {
        events: [
          { node_id: "FetchNode", event_type: i === 0 ? "cached" : "completed", timestamp: "2026-05-01T10:00:01Z", duration_ms: 100, metadata: { llm_calls: 1, tokens: 50 } },
          { node_id: "WriteNode", event_type: failed ? "failed" : "completed", timestamp: "2026-05-01T10:00:02Z", duration_ms: 1000 },
        ],
      },
    });
    await request.post(`/api/v1/executions/${id}/complete`, {
      data: { status: failed ? "failed" : "completed", end_time: `2026-05-01T10:00:0${2 * (i + 1)}Z` },
    });
  }

  await page.goto(`/stats?graph_type=${graph}`);
  const runs = page.getByRole("region", { name: "Runs" });
  await expect(runs.locator("div", { hasText: /^Runs/ }).locator("dd")).toHaveText("4");
  await expect(runs.locator("div", { hasText: /^Failure rate/ }).locator("dd")).toHaveText("25.0 %");
  await expect(runs.locator("div", { hasText: /^Cache hit rate/ }).locator("dd")).toHaveText("12.5 %");
  await expect(runs.locator("div", { hasText: /^Tokens/ }).locator("dd")).toHaveText("200");
  await expect(runs.locator("div", { hasText: /^Run duration p50/ }).locator("dd")).toHaveText("4.0 s");
  // The page says which figures are estimates, and within what.
  await expect(runs).toContainText("Counts, rates, LLM calls and tokens are exact. Duration percentiles are estimates: within 1 % for runs, 5 % for node types.");
  await page.screenshot({ path: "test-results/metrics-page.png", fullPage: true });

  const nodeRows = page.getByRole("region", { name: "Node types, slowest p95 first" }).locator("tbody tr");
  await expect(nodeRows).toHaveCount(2);
  await expect(nodeRows.first()).toContainText("WriteNode");
  await expect(nodeRows.first()).toContainText("25.0 %");

  // Over time: one hourly bucket holds the four runs; the heat map has a
  // row per node type, slowest first.
  const overTime = page.getByRole("region", { name: "Over time" });
  await expect(overTime.getByRole("link", { name: "2026-05-01 10:00: 4 runs, 1 failed" })).toBeVisible();
  await expect(overTime.getByRole("link", { name: /^2026-05-01 10:00: p50 4.0 s, p95/ })).toBeVisible();
  const heatRows = overTime.getByRole("table", { name: "Node type p95 duration over time" }).locator("tbody tr");
  await expect(heatRows).toHaveCount(2);
  await expect(heatRows.first().getByRole("rowheader")).toHaveText("WriteNode");
  await expect(heatRows.first().getByRole("link")).toHaveAttribute("aria-label", /WriteNode at 2026-05-01 10:00: p95 .* over 4 visits/);

  await overTime.getByRole("link", { name: "2026-05-01 10:00: 4 runs, 1 failed" }).click();
  await expect(page).toHaveURL(/from=2026-05-01T10%3A00&to=2026-05-01T11%3A00/);
  await expect(page.locator("table.runs tbody tr")).toHaveCount(4);

  await page.goto(`/stats?graph_type=${graph}`);
  await runs.getByRole("link", { name: "1", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`graph_type=${graph}&status=failed`));
  await expect(page.locator("table.runs tbody tr")).toHaveCount(1);
});
