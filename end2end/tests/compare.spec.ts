import { test, expect, APIRequestContext } from "./fixtures";

async function postRun(request: APIRequestContext, id: string, nodes: [string, string, number][], status: string) {
  await request.post("/api/v1/executions", {
    data: { execution_id: id, graph_type: "compare_graph", start_time: "2026-04-01T08:00:00Z", original_inputs: { q: id } },
  });
  const events = nodes.flatMap(([node, outcome, ms], i) => {
    const t = `2026-04-01T08:00:${String(i * 2).padStart(2, "0")}Z`;
    return [
      { node_id: node, event_type: "started", timestamp: t },
      { node_id: node, event_type: outcome, timestamp: t, duration_ms: ms, outputs: { node } },
    ];
  });
  expect((await request.post(`/api/v1/executions/${id}/events`, { data: { events } })).ok()).toBeTruthy();
  await request.post(`/api/v1/executions/${id}/complete`, { data: { status, final_state: { ok: status === "completed" } } });
}

test("a user compares a good run with a failed, slower one", async ({ page, request }) => {
  const good = `good-${Date.now()}`;
  const bad = `bad-${Date.now()}`;
  await postRun(request, good, [["Plan", "completed", 100], ["Search", "completed", 200], ["Write", "completed", 300]], "completed");
  await postRun(request, bad, [["Plan", "completed", 150], ["Search", "completed", 900], ["Search", "completed", 800], ["Write", "failed", 50]], "failed");

  // From the good run's page: "Compare with…", then name the other run.
  await page.goto(`/executions/${good}`);
  await page.getByRole("link", { name: "Compare with…" }).click();
  await expect(page).toHaveURL(new RegExp(`/compare\\?a=${good}`));
  const form = page.getByRole("form", { name: "Runs to compare" });
  await form.getByLabel("Run b").fill(bad);
  await form.getByRole("button", { name: "Compare" }).click();
  await expect(page).toHaveURL(new RegExp(`a=${good}&b=${bad}`));

  const aligned = page.getByRole("region", { name: "Aligned steps" }).locator("tbody tr");
  await expect(aligned).toHaveCount(4);
  await expect(aligned.nth(0)).toContainText("+50 ms");
  await expect(aligned.nth(1)).toContainText("+700 ms");
  await expect(aligned.nth(2)).toContainText("not visited");
  await expect(aligned.nth(3)).toContainText("failed");
  await expect(page.getByRole("note")).toContainText("First divergence at step 3: only run b visited Search here");
  await page.getByRole("link", { name: "Go to it" }).click();
  await expect(page).toHaveURL(/#step-3$/);
  await expect(page.getByRole("region", { name: "Final state, a → b" })).toContainText("/ok");
});

test("a user picks two runs in the list, and a run compares with the previous one by default", async ({ page, request }) => {
  const graph = `pick_graph_${Date.now()}`;
  const post = async (id: string, start: string, ms: number, status: string) => {
    await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: graph, start_time: start } });
    await request.post(`/api/v1/executions/${id}/events`, {
      data: { events: [{ node_id: "Only", event_type: status, timestamp: start, duration_ms: ms }] },
    });
    await request.post(`/api/v1/executions/${id}/complete`, { data: { status } });
  };
  await post(`${graph}-older`, "2026-06-01T08:00:00Z", 100, "completed");
  await post(`${graph}-newer`, "2026-06-02T08:00:00Z", 400, "failed");

  await page.goto(`/?graph_type=${graph}`);
  await expect(page.locator("table.runs tbody tr")).toHaveCount(2);
  // "Live" shows once the page's code runs: a box ticked before that would
  // be reset by hydration.
  await expect(page.getByRole("status")).toHaveText("Live");
  await page.getByLabel(`Pick ${graph}-newer to compare`).check();
  await page.getByLabel(`Pick ${graph}-older to compare`).check();
  await expect(page.getByText("2 of 2 runs picked")).toBeVisible();
  await page.getByRole("link", { name: "Compare picked runs" }).click();
  // The run that started first is a, the baseline.
  await expect(page).toHaveURL(new RegExp(`a=${graph}-older&b=${graph}-newer`));
  const aligned = page.getByRole("region", { name: "Aligned steps" });
  await expect(aligned.locator("tbody tr")).toHaveCount(1);
  await expect(aligned.locator("tbody tr")).toContainText("+300 ms");
  await expect(aligned.getByRole("columnheader", { name: /Time from start \(shared axis/ })).toBeVisible();
  await expect(aligned.locator("tbody tr .axis-bar")).toHaveCount(2);

  // From the newer run: "Compare with…" compares with the run before it.
  await page.goto(`/executions/${graph}-newer`);
  await page.getByRole("link", { name: "Compare with…" }).click();
  await expect(page.getByText("Run b (the previous run)")).toBeVisible();
  await expect(page.locator(".compare-heads")).toContainText(`${graph}-older`);
  const picker = page.getByRole("region", { name: `Compare ${graph}-newer with another run` });
  await expect(picker.getByRole("listitem")).toHaveCount(1);
  await expect(picker.getByRole("listitem")).toContainText("the previous run");
  // Searching finds runs of the same graph type by id.
  await picker.getByLabel("Run id contains").fill("nothing-like-this");
  await picker.getByRole("button", { name: "Search" }).click();
  await expect(picker).toContainText("No other run of this graph type matches.");
});
