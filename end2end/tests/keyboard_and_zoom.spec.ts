// The run page with the keyboard alone, every page at 200 % zoom, and live
// updates told to screen readers — what WCAG 2.2 asks beyond what axe sees.
import { test, expect, APIRequestContext } from "./fixtures";
import type { Page } from "@playwright/test";

async function postRun(request: APIRequestContext, id: string, complete: boolean) {
  await request.post("/api/v1/executions", {
    data: { execution_id: id, graph_type: "keyboard_graph", start_time: "2026-04-01T08:00:00Z" },
  });
  const nodes: [string, string][] = [["Plan", "completed"], ["Search", "failed"], ["Write", "cached"]];
  const events = nodes.flatMap(([node, outcome], i) => {
    const t = `2026-04-01T08:00:${String(i * 2).padStart(2, "0")}Z`;
    return [
      { node_id: node, event_type: "started", timestamp: t },
      { node_id: node, event_type: outcome, timestamp: t, duration_ms: 100 * (i + 1), error: outcome === "failed" ? "boom" : null },
    ];
  });
  const snapshots = nodes.map(([node], i) => ({ node_id: node, timestamp: `2026-04-01T08:00:${String(i * 2 + 1).padStart(2, "0")}Z`, state: { step: i, last: node } }));
  expect((await request.post(`/api/v1/executions/${id}/events`, { data: { events, snapshots } })).ok()).toBeTruthy();
  if (complete) {
    await request.post(`/api/v1/executions/${id}/complete`, { data: { status: "failed", end_time: "2026-04-01T08:00:10Z" } });
  }
}

/** Presses Tab until the focused element's accessible label matches `name`. */
async function tabTo(page: Page, name: RegExp) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    const label = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el?.getAttribute("aria-label") ?? el?.innerText ?? "";
    });
    if (name.test(label)) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

test("the run page can be used start to finish with the keyboard alone", async ({ page, request }) => {
  const id = `keyboard-${Date.now()}`;
  await postRun(request, id, true);
  await page.goto(`/executions/${id}`);
  // The lazily loaded sections are in (they come after hydration).
  const graph = page.getByRole("region", { name: "Graph" });
  await expect(graph.getByRole("list", { name: "Legend" })).toContainText("failed");
  const history = page.getByRole("region", { name: "State history" });
  await expect(history).toContainText("Step 3 of 3");

  // Timeline: ↓ opens the first visit, ↓ the next, Esc closes.
  await tabTo(page, /^Timeline, scroll to pan$/);
  await page.keyboard.press("ArrowDown");
  await expect(page.getByRole("complementary", { name: "Node Plan" })).toBeVisible();
  await page.keyboard.press("ArrowDown");
  await expect(page.getByRole("complementary", { name: "Node Search" })).toContainText("boom");
  await page.keyboard.press("Escape");
  await expect(page.getByRole("complementary")).toHaveCount(0);

  // Graph: → walks the nodes in reading order, opening each one's visit.
  await tabTo(page, /^Graph: /);
  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("complementary", { name: "Node Plan" })).toBeVisible();
  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("complementary", { name: "Node Search" })).toBeVisible();
  // The graph says outcomes in words too, not by colour alone.
  await expect(graph.getByRole("listitem").filter({ hasText: "Search: 1 visit, failed" })).toHaveCount(1);

  // State history: Home/End and the arrows move through the steps.
  await tabTo(page, /^State step$/);
  await page.keyboard.press("Home");
  await expect(history).toContainText("Step 1 of 3 — after Plan");
  await page.keyboard.press("ArrowRight");
  await expect(history).toContainText("Step 2 of 3 — after Search");
  await page.keyboard.press("End");
  await expect(history).toContainText("Step 3 of 3 — after Write");
});

for (const [width, height, what] of [[640, 360, "200 % zoom of 1280×720"], [1280, 720, "1280×720"]] as const) {
  test(`no page scrolls sideways at ${what}`, async ({ page, request }) => {
    const id = `zoom-${width}-${Date.now()}`;
    await postRun(request, id, true);
    await page.setViewportSize({ width, height });
    const pages: [string, () => Promise<void>][] = [
      ["/", async () => { await expect(page.getByRole("link", { name: id })).toBeVisible(); }],
      [`/executions/${id}`, async () => { await expect(page.getByRole("region", { name: "State history" })).toContainText("Step 3 of 3"); }],
      [`/compare?a=${id}`, async () => { await expect(page.getByRole("heading", { name: "Compare runs" })).toBeVisible(); }],
      ["/stats", async () => { await expect(page.getByRole("heading", { name: "Metrics" })).toBeVisible(); }],
      ["/access", async () => { await expect(page.getByRole("heading", { name: "API tokens" })).toBeVisible(); }],
    ];
    const wide: string[] = [];
    for (const [path, ready] of pages) {
      await page.goto(path);
      await ready();
      const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      if (scroll > client) {
        // Say what sticks out (innermost first), to know what to fix.
        const culprits = await page.evaluate((client) => [...document.querySelectorAll("body *")]
          .filter((el) => el.getBoundingClientRect().right > client + 1)
          .reverse().slice(0, 3)
          .map((el) => `${el.tagName.toLowerCase()}.${el.getAttribute("class") ?? ""}`).join(", "), client);
        wide.push(`${path}: ${scroll}px of content in ${client}px (${culprits})`);
      }
      if (width === 640) {
        await page.screenshot({ path: `test-results/zoom-${path.split("?")[0].split("/")[1] || "runs"}.png`, fullPage: true });
      }
    }
    expect(wide).toEqual([]);
  });
}

test("live updates are announced politely, a few at a time, not frame by frame", async ({ page, request }) => {
  const id = `announce-${Date.now()}`;
  await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: "keyboard_graph" } });
  await page.goto(`/executions/${id}`);
  await expect(page.getByRole("status")).toHaveText("Live");
  const announcer = page.locator('[aria-live="polite"]').filter({ hasText: /new node visit/ });
  const now = () => new Date().toISOString();
  for (const node of ["Plan", "Search", "Write"]) {
    await request.post(`/api/v1/executions/${id}/events`, {
      data: { events: [{ node_id: node, event_type: "started", timestamp: now() }, { node_id: node, event_type: "completed", timestamp: now(), duration_ms: 5 }] },
    });
  }
  // Three batches in quick succession: one message for all of them.
  await expect(announcer).toHaveText("3 new node visits");
});
