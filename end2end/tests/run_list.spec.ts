import { test, expect, APIRequestContext } from "./fixtures";

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

test("a user filters the run list; the filter lives in the URL and the back button undoes it", async ({ page, request }) => {
  const graph = `filter_graph_${Date.now()}`;
  for (let i = 0; i < 55; i++) {
    const id = `${graph}-${String(i).padStart(2, "0")}`;
    await request.post("/api/v1/executions", {
      data: { execution_id: id, graph_type: graph, start_time: `2026-02-01T10:${String(i).padStart(2, "0")}:00Z` },
    });
    await request.post(`/api/v1/executions/${id}/complete`, {
      data: { status: i % 5 === 0 ? "failed" : "completed", end_time: "2026-02-01T11:00:00Z" },
    });
  }

  await page.goto("/");
  await expect(page.getByRole("status")).toHaveText("Live");
  const filters = page.getByRole("form", { name: "Filter runs" });
  await filters.getByLabel("Graph type").fill(graph);
  await filters.getByLabel("Status").selectOption("failed");
  await filters.getByRole("button", { name: "Apply" }).click();

  await expect(page).toHaveURL(new RegExp(`graph_type=${graph}.*status=failed`));
  const rows = page.locator("table.runs tbody tr");
  await expect(rows).toHaveCount(11);
  for (const text of await rows.allTextContents()) expect(text).toContain("failed");
  await expect(page.getByText("Runs 1–11 of 11")).toBeVisible();

  await page.goBack();
  await expect(page).toHaveURL(/\/$/);

  // All 55 of the graph: two pages of 50 and 5, newest first.
  await page.goto(`/?graph_type=${graph}`);
  await expect(rows).toHaveCount(50);
  await expect(rows.first()).toContainText(`${graph}-54`);
  await page.getByRole("link", { name: "Next →" }).click();
  // Pages go by cursor: the next page starts after the last run shown.
  await expect(page).toHaveURL(/cursor=/);
  await expect(rows).toHaveCount(5);
  await expect(rows.first()).toContainText(`${graph}-04`);
  await expect(rows.last()).toContainText(`${graph}-00`);
  await expect(page.getByText("5 more runs of 55")).toBeVisible();
  await page.screenshot({ path: "test-results/run-list-next-page.png", fullPage: true });
  await expect(page.getByRole("link", { name: "Next →" })).toHaveCount(0);
  await page.getByRole("link", { name: "← First page" }).click();
  await expect(rows.first()).toContainText(`${graph}-54`);

  // Every run ended at 11:00, so the earliest started is the slowest.
  await page.goto(`/?graph_type=${graph}&sort=duration`);
  await expect(page.getByLabel("Sort by")).toHaveValue("duration");
  await expect(rows.first()).toContainText(`${graph}-00`);
  await expect(rows.first()).toContainText("1 h 00 m");
});

test("the theme can be chosen and is remembered", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto("/");
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(await background()).toBe("rgb(247, 248, 250)");
  await page.getByLabel("Theme").selectOption("dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  expect(await background()).toBe("rgb(15, 18, 22)");
  await page.reload();
  expect(await background()).toBe("rgb(15, 18, 22)");
  await expect(page.getByLabel("Theme")).toHaveValue("dark");
  // Back to the system setting, which is dark here.
  await page.emulateMedia({ colorScheme: "dark" });
  await page.getByLabel("Theme").selectOption("system");
  await expect(page.locator("html")).not.toHaveAttribute("data-theme", /.+/);
  expect(await background()).toBe("rgb(15, 18, 22)");
});

test("a metadata filter slices the run list and stays in the URL", async ({ page, request }) => {
  const stamp = Date.now();
  for (const environment of ["prod", "staging"]) {
    const r = await request.post("/api/v1/executions", {
      data: { execution_id: `meta-${environment}-${stamp}`, graph_type: `meta_graph_${stamp}`, metadata: { environment } },
    });
    expect(r.status()).toBe(201);
  }
  await page.goto(`/?graph_type=meta_graph_${stamp}`);
  await expect(page.getByRole("link", { name: `meta-staging-${stamp}` })).toBeVisible();
  // "Live" shows once the page's code runs: text typed before that would be
  // reset by hydration (seen on a slow CI run).
  await expect(page.getByRole("status")).toHaveText("Live");
  const form = page.getByRole("form", { name: "Filter runs" });
  await form.getByLabel("Metadata").fill("environment=prod");
  await form.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByRole("link", { name: `meta-prod-${stamp}` })).toBeVisible();
  await expect(page.getByRole("link", { name: `meta-staging-${stamp}` })).toHaveCount(0);
  // The filter shows as a chip a person can untick, and the URL keeps it.
  await expect(page.getByRole("checkbox", { name: "environment = prod" })).toBeChecked();
  expect(new URL(page.url()).searchParams.get("meta")).toBe("environment=prod");
  await expect(form.getByLabel("Metadata")).toHaveValue("");
  // The API's own spelling works in the page's URL too.
  await page.goto(`/?graph_type=meta_graph_${stamp}&meta.environment=staging`);
  await expect(page.getByRole("link", { name: `meta-staging-${stamp}` })).toBeVisible();
  await expect(page.getByRole("link", { name: `meta-prod-${stamp}` })).toHaveCount(0);
});
