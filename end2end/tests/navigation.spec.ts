import { test, expect } from "./fixtures";

// Every page is reached from every other through the top bar, in the
// release build's split bundle (each page its own chunk, loaded on first
// use), and each page still reacts afterwards. The fixture fails the test
// on any uncaught error: a page left behind that touches what navigation
// disposed panics the client, and a panicked client stops reacting.
test("a user moves between every page by the top bar and each keeps working", async ({ page, request }) => {
  const id = `nav-${Date.now()}`;
  expect(
    (
      await request.post("/api/v1/executions", {
        data: { execution_id: id, graph_type: "nav_e2e", start_time: "2026-02-01T10:00:00Z" },
      })
    ).status(),
  ).toBe(201);
  expect(
    (
      await request.post(`/api/v1/executions/${id}/events`, {
        data: {
          events: [
            { node_id: "Plan", event_type: "started", timestamp: "2026-02-01T10:00:00Z" },
            { node_id: "Plan", event_type: "completed", timestamp: "2026-02-01T10:00:01Z", duration_ms: 1000 },
          ],
        },
      })
    ).ok(),
  ).toBeTruthy();

  const nav = page.getByRole("navigation", { name: "Main" });
  const heading = page.getByRole("heading", { level: 1 });
  const runRow = page.getByRole("table").getByRole("link", { name: id });

  await page.goto("/");
  await expect(runRow).toBeVisible();
  // Away from the run list, and back, by each link of the top bar.
  for (const [link, title] of [
    ["Metrics", "Metrics"],
    ["Compare", "Compare runs"],
    ["Alerts", "Alerts"],
  ]) {
    await nav.getByRole("link", { name: link, exact: true }).click();
    await expect(heading).toHaveText(title);
    await nav.getByRole("link", { name: "Runs", exact: true }).click();
    await expect(heading).toHaveText("Runs");
    await expect(runRow).toBeVisible();
  }

  // The list still reacts: its filter form narrows it.
  const filters = page.getByRole("form", { name: "Filter runs" });
  await filters.getByLabel("Graph type").fill("nav_e2e");
  await filters.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/graph_type=nav_e2e/);
  await expect(page.getByRole("table").getByRole("link", { name: /^nav-/ }).first()).toBeVisible();

  // Into a run and out again, to the metrics, and back to the list.
  await runRow.click();
  await expect(heading).toHaveText(id);
  await nav.getByRole("link", { name: "Metrics", exact: true }).click();
  await expect(heading).toHaveText("Metrics");
  await page.goBack();
  await expect(heading).toHaveText(id);
  await nav.getByRole("link", { name: "Runs", exact: true }).click();
  await expect(runRow).toBeVisible();
  await page.screenshot({ path: "test-results/navigation-back-on-list.png", fullPage: true });
});

// A page that was told of a live change announces it to screen readers a
// moment later; leaving the page before then must not leave a timer behind
// that reads what the page was (that panicked the client).
test("leaving the run list just after a new run appeared keeps the client alive", async ({ page, request }) => {
  // The page's timers run on Playwright's clock, so the test can move time
  // past the announcement's delay instead of waiting for it.
  await page.clock.install();
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Runs");
  await expect(page.getByText("Live", { exact: true })).toBeVisible();

  const id = `appears-${Date.now()}`;
  expect((await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: "nav_e2e" } })).status()).toBe(201);
  await expect(page.getByRole("table").getByRole("link", { name: id })).toBeVisible();

  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Metrics", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Metrics");
  await page.clock.runFor(5_000);

  // Still reacting: the top bar leads back to the list, which shows the run.
  await nav.getByRole("link", { name: "Runs", exact: true }).click();
  await expect(page.getByRole("table").getByRole("link", { name: id })).toBeVisible();
});
