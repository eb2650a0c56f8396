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

test("a metadata filter slices the metrics and their links to the runs", async ({ page, request }) => {
  const graph = `meta_stats_${Date.now()}`;
  // Two prod runs (one failed) and one staging run that failed.
  const runs: [string, string, string][] = [["prod", "completed", "a"], ["prod", "failed", "b"], ["staging", "failed", "c"]];
  for (const [environment, status, n] of runs) {
    const id = `${graph}-${n}`;
    const created = await request.post("/api/v1/executions", {
      data: { execution_id: id, graph_type: graph, start_time: "2026-05-02T10:00:00Z", metadata: { environment } },
    });
    expect(created.status()).toBe(201);
    await request.post(`/api/v1/executions/${id}/complete`, { data: { status, end_time: "2026-05-02T10:00:03Z" } });
  }
  await page.goto(`/stats?graph_type=${graph}`);
  const figures = page.getByRole("region", { name: "Runs" });
  const figure = (name: string) => figures.locator("div", { hasText: new RegExp(`^${name}`) }).locator("dd");
  await expect(figure("Runs")).toHaveText("3");

  const form = page.getByRole("form", { name: "Metrics filter" });
  await form.getByLabel("Metadata").fill("environment=prod");
  await form.getByRole("button", { name: "Show" }).click();
  await expect(figure("Runs")).toHaveText("2");
  await expect(figure("Failure rate")).toHaveText("50.0 %");
  // The filter shows as a chip, stays in the URL, and says what it leaves out.
  await expect(page.getByRole("checkbox", { name: "environment = prod" })).toBeChecked();
  expect(new URL(page.url()).searchParams.get("meta")).toBe("environment=prod");
  await expect(page.getByText("Node types are not shown with a metadata filter")).toBeVisible();
  await expect(page.getByRole("table", { name: "Node type p95 duration over time" })).toHaveCount(0);
  // The box is free for another filter.
  await expect(form.getByLabel("Metadata")).toHaveValue("");
  await page.screenshot({ path: "test-results/metrics-page-metadata.png", fullPage: true });

  // The failed count links to the same slice of the run list.
  await figure("Failed").getByRole("link").click();
  await expect(page).toHaveURL(/status=failed/);
  await expect(page.getByRole("link", { name: `${graph}-b` })).toBeVisible();
  await expect(page.getByRole("link", { name: `${graph}-c` })).toHaveCount(0);

  // Unticking the chip shows every run again.
  await page.goto(`/stats?graph_type=${graph}&meta.environment=staging`);
  await expect(figure("Runs")).toHaveText("1");
  await page.getByRole("checkbox", { name: "environment = staging" }).uncheck();
  await page.getByRole("form", { name: "Metrics filter" }).getByRole("button", { name: "Show" }).click();
  await expect(figure("Runs")).toHaveText("3");
});
