import { test, expect } from "./fixtures";

test("an admin makes an alert rule, sees it fire for a failed run, and turns it off", async ({ page, request }) => {
  const name = `e2e failures ${Date.now()}`;
  const graph = `alerts_e2e_${Date.now()}`;
  await page.goto("/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click();
  await expect(page.getByRole("heading", { name: "Alerts", level: 1 })).toBeVisible();

  const form = page.getByRole("form", { name: "New alert rule" });
  // A bad threshold is refused, naming the field.
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Condition").selectOption("run_slower_than");
  await form.getByLabel("Threshold (ms)").fill("-5");
  await form.getByLabel("Webhook URL").fill("https://hooks.example/tracevis");
  await form.getByRole("button", { name: "Create rule" }).click();
  await expect(page.getByRole("alert")).toContainText("Threshold (ms)");

  await form.getByLabel("Condition").selectOption("run_failed");
  await form.getByLabel("Graph type").fill(graph);
  await form.getByRole("button", { name: "Create rule" }).click();
  // The signing secret, shown once.
  await expect(page.getByRole("status")).toContainText("whsec_");
  const rule = page.getByRole("article", { name: `Rule ${name}` });
  await expect(rule).toContainText(`When a run failed (graph type ${graph}), POST json to https://hooks.example/tracevis.`);
  await expect(rule).toContainText("No deliveries yet.");

  // A failed run of that graph type fires it.
  const id = `alerted-${Date.now()}`;
  expect((await request.post("/api/v1/executions", { data: { execution_id: id, graph_type: graph } })).status()).toBe(201);
  expect((await request.post(`/api/v1/executions/${id}/complete`, { data: { status: "failed", error: "boom" } })).ok()).toBeTruthy();
  await page.reload();
  const log = page.getByRole("table", { name: `Deliveries of ${name}` });
  await expect(log.getByRole("link", { name: id })).toBeVisible();
  await page.screenshot({ path: "test-results/alerts.png", fullPage: true });

  // Redeliver queues it again; turning the rule off says so.
  await log.getByRole("button", { name: /^Redeliver / }).first().click();
  await expect(page.getByRole("alert")).toHaveCount(0);
  await rule.getByRole("button", { name: "Turn off" }).click();
  await expect(rule.getByRole("heading")).toContainText("(off)");
  await rule.getByRole("button", { name: `Delete rule ${name}` }).click();
  await expect(page.getByRole("article", { name: `Rule ${name}` })).toHaveCount(0);
});
