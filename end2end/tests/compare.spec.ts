import { test, expect, APIRequestContext } from "@playwright/test";

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
