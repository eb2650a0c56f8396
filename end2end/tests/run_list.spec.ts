import { test, expect, APIRequestContext } from "@playwright/test";

// Posts a small run through the public API, the way a producer would.
async function postRun(request: APIRequestContext, id: string) {
  const start = await request.post("/api/v1/executions", {
    data: {
      execution_id: id,
      graph_type: "e2e_graph",
      original_inputs: { prompt: "hello" },
      start_time: "2026-01-02T10:00:00Z",
    },
  });
  expect(start.status()).toBe(201);
  const batch = await request.post(`/api/v1/executions/${id}/events`, {
    data: {
      events: [
        { node_id: "PlanNode", event_type: "started", timestamp: "2026-01-02T10:00:00Z" },
        { node_id: "PlanNode", event_type: "completed", timestamp: "2026-01-02T10:00:01.300Z", duration_ms: 1300 },
        { node_id: "TranslateNode", event_type: "started", timestamp: "2026-01-02T10:00:01.300Z" },
        {
          node_id: "TranslateNode",
          event_type: "failed",
          timestamp: "2026-01-02T10:00:02Z",
          duration_ms: 700,
          error: "RateLimitError: 429",
        },
      ],
      snapshots: [{ node_id: "PlanNode", timestamp: "2026-01-02T10:00:01.300Z", state: { plan: "ready" } }],
    },
  });
  expect(batch.ok()).toBeTruthy();
  const done = await request.post(`/api/v1/executions/${id}/complete`, {
    data: { status: "failed", end_time: "2026-01-02T10:00:03Z", final_state: { plan: "ready", answer: null } },
  });
  expect(done.ok()).toBeTruthy();
}

test("a user opens the run list, clicks a run and sees its nodes", async ({ page, request }) => {
  const id = `e2e-${Date.now()}`;
  await postRun(request, id);
  // A missing WASM file or a hydration panic shows up as a console error.
  const consoleErrors: string[] = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));

  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Runs" })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: id });
  await expect(row).toContainText("e2e_graph");
  await expect(row).toContainText("failed");
  await expect(row).toContainText("3.0 s");

  await row.getByRole("link", { name: id }).click();
  await expect(page).toHaveURL(new RegExp(`/executions/${id}$`));
  await expect(page.getByRole("heading", { name: id })).toBeVisible();

  const events = page.getByRole("region", { name: "Node events" }).getByRole("row");
  // Header row plus four events, in the order they happened.
  await expect(events).toHaveCount(5);
  await expect(events.nth(1)).toContainText("PlanNode");
  await expect(events.nth(2)).toContainText("1.3 s");
  await expect(events.nth(4)).toContainText("TranslateNode");
  await expect(events.nth(4)).toContainText("RateLimitError: 429");
  await expect(page.getByRole("region", { name: "Final state" })).toContainText('"plan": "ready"');
  expect(consoleErrors).toEqual([]);
});
