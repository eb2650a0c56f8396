// Every page, in the light and the dark theme, checked by the axe-core
// engine in the real browser: no serious or critical WCAG 2.2 A/AA violation.
import AxeBuilder from "@axe-core/playwright";
import { test, expect, APIRequestContext } from "./fixtures";

async function postRun(request: APIRequestContext, id: string, nodes: [string, string][], status: string) {
  await request.post("/api/v1/executions", {
    data: { execution_id: id, graph_type: "a11y_graph", start_time: "2026-04-01T08:00:00Z", original_inputs: { topic: id } },
  });
  const events = nodes.flatMap(([node, outcome], i) => {
    const t = `2026-04-01T08:00:${String(i * 2).padStart(2, "0")}Z`;
    return [
      { node_id: node, event_type: "started", timestamp: t },
      { node_id: node, event_type: outcome, timestamp: t, duration_ms: 100 * (i + 1), outputs: { node }, error: outcome === "failed" ? "boom" : null },
    ];
  });
  const snapshots = nodes.map(([node], i) => ({ node_id: node, timestamp: `2026-04-01T08:00:${String(i * 2 + 1).padStart(2, "0")}Z`, state: { step: i, last: node } }));
  expect((await request.post(`/api/v1/executions/${id}/events`, { data: { events, snapshots } })).ok()).toBeTruthy();
  await request.post(`/api/v1/executions/${id}/complete`, { data: { status, end_time: "2026-04-01T08:00:10Z", final_state: { ok: status === "completed" } } });
}

for (const theme of ["light", "dark"]) {
  test(`every page has no serious or critical accessibility violation in the ${theme} theme`, async ({ page, request }) => {
    const good = `a11y-good-${theme}-${Date.now()}`;
    const bad = `a11y-bad-${theme}-${Date.now()}`;
    await postRun(request, good, [["Plan", "completed"], ["Search", "cached"], ["Write", "completed"]], "completed");
    await postRun(request, bad, [["Plan", "completed"], ["Search", "failed"]], "failed");
    await page.addInitScript((t) => localStorage.setItem("tracevis-theme", t), theme);
    await page.setViewportSize({ width: 1440, height: 900 });

    // Each page once loaded, then in the state a user brings it to (a run
    // picked for comparison, a visit's details open).
    const timeline = page.getByRole("region", { name: "Timeline" });
    const pages: [string, () => Promise<void>, (() => Promise<void>)?][] = [
      ["/", async () => { await expect(page.getByRole("link", { name: good })).toBeVisible(); },
        async () => { await page.getByRole("checkbox", { name: `Pick ${good} to compare` }).check(); }],
      [`/executions/${bad}`, async () => { await expect(timeline).toContainText("Search"); },
        async () => {
          await timeline.getByRole("listitem").nth(1).getByRole("button").click();
          await expect(page.getByRole("complementary", { name: "Node Search" })).toContainText("boom");
        }],
      [`/compare?a=${good}&b=${bad}`, async () => { await expect(page.getByRole("region", { name: "Aligned steps" })).toBeVisible(); }],
      ["/stats", async () => { await expect(page.getByRole("heading", { level: 1 })).toBeVisible(); }],
      ["/access", async () => { await expect(page.getByRole("heading", { name: "API tokens" })).toBeVisible(); },
        async () => {
          const form = page.getByRole("form", { name: "New token" });
          await form.getByLabel("Name").fill(`a11y-${theme}-${Date.now()}`);
          await form.getByRole("button", { name: "Create token" }).click();
          await expect(page.getByRole("button", { name: "Copy" })).toBeVisible();
        }],
    ];
    const found: string[] = [];
    const check = async (where: string) => {
      const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
      for (const v of results.violations.filter((v) => v.impact === "serious" || v.impact === "critical")) {
        found.push(`${where}: ${v.id} (${v.impact}, ${v.nodes.length} elements) e.g. ${v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " " + (n.failureSummary ?? "").split("\n").slice(1, 2).join("")).join(" | ")}`);
      }
    };
    for (const [path, ready, interact] of pages) {
      await page.goto(path);
      await ready();
      await expect(page.locator("html")).toHaveAttribute("data-theme", theme);
      await check(path);
      if (interact) {
        await interact();
        await check(`${path} (after use)`);
      }
      await page.screenshot({ path: `test-results/a11y-${theme}-${path.split("?")[0].split("/")[1] || "runs"}.png`, fullPage: true });
    }
    expect(found, found.join("\n")).toEqual([]);
  });
}

test("the keyboard's first stop skips the navigation to the page", async ({ page }) => {
  await page.goto("/stats");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to main content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  await page.keyboard.press("Tab");
  // The next stop is inside the page, not the navigation.
  expect(await page.evaluate(() => !!document.activeElement?.closest("main"))).toBe(true);
});
