import { test, expect, APIRequestContext } from "./fixtures";

// A run whose Translate visit hits a rate limit and whose state's language
// becomes French, with a word of its own so the search finds it alone.
async function postRun(request: APIRequestContext, id: string, word: string) {
  const start = await request.post("/api/v1/executions", {
    data: {
      execution_id: id,
      graph_type: "search_e2e",
      original_inputs: { topic: `vector databases ${word}` },
      initial_state: { language: "en" },
      start_time: "2026-03-01T10:00:00Z",
    },
  });
  expect(start.status()).toBe(201);
  const batch = await request.post(`/api/v1/executions/${id}/events`, {
    data: {
      events: [
        { node_id: "Plan", event_type: "started", timestamp: "2026-03-01T10:00:00Z" },
        { node_id: "Plan", event_type: "completed", timestamp: "2026-03-01T10:00:01Z", duration_ms: 1000,
          outputs: { plan: "translate the summary" } },
        { node_id: "Translate", event_type: "started", timestamp: "2026-03-01T10:00:01Z" },
        { node_id: "Translate", event_type: "failed", timestamp: "2026-03-01T10:00:02Z", duration_ms: 1000,
          error: `RateLimitError: rate limit exceeded (${word})` },
      ],
      snapshots: [{ node_id: "Translate", timestamp: "2026-03-01T10:00:02Z", state: { language: "fr" } }],
    },
  });
  expect(batch.ok()).toBeTruthy();
  const done = await request.post(`/api/v1/executions/${id}/complete`, {
    data: { status: "failed", end_time: "2026-03-01T10:00:03Z" },
  });
  expect(done.ok()).toBeTruthy();
}

test("a user finds a run by its error and opens the visit where it happened", async ({ page, request }) => {
  const word = `zx${Date.now()}`;
  const id = `search-${word}`;
  await postRun(request, id, word);
  await postRun(request, `other-${word}`, `other${word}`);

  await page.goto("/");
  // Typed before the page's code runs, the words would be reset by hydration.
  await expect(page.getByRole("status")).toHaveText("Live");
  const filters = page.getByRole("form", { name: "Filter runs" });
  await filters.getByLabel("Search").fill(`"rate limit" ${word}`);
  await filters.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/q=/);

  const runs = page.getByRole("table").getByRole("link", { name: /^(search|other)-/ });
  await expect(runs).toHaveCount(1);
  await expect(runs.first()).toHaveText(id);
  const hits = page.getByRole("list", { name: `Where the search matched in ${id}` });
  const hit = hits.getByRole("listitem").filter({ hasText: "Translate · event" });
  await expect(hit).toContainText(`error: RateLimitError: rate limit exceeded (${word})`);
  // The query's words are marked in the excerpt.
  await expect(hit.locator("mark")).toHaveText(["rate", "limit", word]);
  await page.screenshot({ path: "test-results/search-hits.png", fullPage: true });

  // The hit opens the run at that visit.
  await hit.getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/executions/${id}\\?seq=\\d+$`));
  const details = page.getByRole("complementary", { name: "Node Translate" });
  await expect(details).toContainText(`RateLimitError: rate limit exceeded (${word})`);
});

test("a search for a state value opens the step where the state changed", async ({ page, request }) => {
  const word = `qz${Date.now()}`;
  const id = `search-${word}`;
  await postRun(request, id, word);

  await page.goto(`/?q=${encodeURIComponent(`language fr`)}&graph_type=search_e2e`);
  const hits = page.getByRole("list", { name: `Where the search matched in ${id}` });
  const step = hits.getByRole("listitem").filter({ hasText: "State after Translate" });
  await expect(step).toContainText("language: fr");
  await step.getByRole("link").click();
  const history = page.getByRole("region", { name: "State history" });
  await expect(history).toContainText("Step 2 of 2 — after Translate");
});

test("a search with nothing to look for says why instead of listing runs", async ({ page }) => {
  await page.goto(`/?q=${encodeURIComponent("*")}`);
  await expect(page.getByRole("alert")).toContainText("The search was not run: it has no letters or digits to search for.");
});
