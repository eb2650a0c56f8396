import AxeBuilder from "@axe-core/playwright";
import { test, expect } from "./fixtures";
import { TestServer } from "./server";

// A team's server: sign-in required. A person is sent to the sign-in page,
// signs in, sees the runs (live too), signs out and is sent back to sign in.
test("a team member signs in, sees the runs and signs out", async ({ page }) => {
  const server = new TestServer(3121, ["--auth", "required"]);
  await server.start();
  try {
    server.cli(["user", "add", "vera", "--role", "viewer"], "a-long-password\n");
    server.token = server.cli(["token", "create", "--name", "producer", "--scope", "ingest"]).trim();
    expect(server.token).toMatch(/^tvi_/);
    await server.post("/api/v1/executions", {
      execution_id: "signed-in-run",
      graph_type: "team_graph",
      start_time: new Date().toISOString(),
    });

    const response = await page.goto(`${server.url}/executions/signed-in-run`);
    await expect(page).toHaveURL(/\/login\?next=\/executions\/signed-in-run$/);
    // The page runs under a policy with a fresh nonce (the fixture fails the
    // test on any violation, so hydration worked under it).
    expect(response!.headers()["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[\w-]{16,}' 'wasm-unsafe-eval'/);
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

    for (const theme of ["light", "dark"]) {
      await page.getByLabel("Theme").selectOption(theme);
      await expect(page.locator("html")).toHaveAttribute("data-theme", theme);
      const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]).analyze();
      expect(axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical"), theme).toEqual([]);
      await page.screenshot({ path: `test-results/a11y-${theme}-sign-in.png` });
    }

    await page.getByLabel("Name").fill("vera");
    await page.getByLabel("Password").fill("not-her-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("Wrong name or password.");

    await page.getByLabel("Name").fill("vera");
    await page.getByLabel("Password").fill("a-long-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    // Back where she was going, signed in.
    await expect(page).toHaveURL(`${server.url}/executions/signed-in-run`);
    await expect(page.getByRole("heading", { name: /signed-in-run/ })).toBeVisible();
    await expect(page.getByRole("banner")).toContainText("Signed in as vera");

    // The run list, with its live socket authorised by the same session.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Runs" }).click();
    await expect(page.getByRole("link", { name: "signed-in-run" })).toBeVisible();
    await server.post("/api/v1/executions", {
      execution_id: "arrives-live",
      graph_type: "team_graph",
      start_time: new Date().toISOString(),
    });
    await expect(page.getByRole("link", { name: "arrives-live" })).toBeVisible();

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto(`${server.url}/`);
    await expect(page).toHaveURL(/\/login\?next=\/$/);
  } finally {
    await server.kill();
  }
});

// An admin manages access from the browser: a producer token made on the
// Access page works at once and stops working when revoked; a new person
// gets a generated password shown once.
test("an admin creates and revokes a token and adds a person on the Access page", async ({ page }) => {
  const server = new TestServer(3122, ["--auth", "required"]);
  await server.start();
  try {
    server.cli(["user", "add", "ada", "--role", "admin"], "admin-password\n");
    await page.goto(`${server.url}/access`);
    await expect(page).toHaveURL(/\/login\?next=\/access$/);
    await page.getByLabel("Name").fill("ada");
    await page.getByLabel("Password").fill("admin-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Access" })).toBeVisible();

    const newToken = page.getByRole("form", { name: "New token" });
    await newToken.getByLabel("Name").fill("etl-producer");
    await newToken.getByLabel("Scope").selectOption("ingest");
    await newToken.getByRole("button", { name: "Create token" }).click();
    const shown = page.getByRole("status").filter({ hasText: "etl-producer" });
    await expect(shown).toContainText("not shown again");
    const token = (await shown.locator("code").textContent())!.trim();
    expect(token).toMatch(/^tvi_[\w-]{43}$/);
    await expect(shown.getByRole("button", { name: "Copy" })).toBeVisible();
    const tokens = page.getByRole("table", { name: "API tokens" });
    await expect(tokens.getByRole("row", { name: /etl-producer/ })).toContainText("never");

    // The token works for a producer right away…
    server.token = token;
    await server.post("/api/v1/executions", { execution_id: "from-etl", graph_type: "etl" });
    // …and is refused once revoked.
    await tokens.getByRole("button", { name: "Revoke token etl-producer" }).click();
    await expect(tokens.getByRole("row", { name: /etl-producer/ })).toContainText("revoked");
    await expect(server.post("/api/v1/executions", { execution_id: "after-revoke", graph_type: "etl" })).rejects.toThrow(/401/);

    const newPerson = page.getByRole("form", { name: "New person" });
    await newPerson.getByLabel("Name").fill("vera");
    await newPerson.getByRole("button", { name: "Add person" }).click();
    const password = page.getByRole("status").filter({ hasText: "vera" });
    await expect(password.locator("code")).toHaveText(/^[\w-]{20}$/);
    await expect(page.getByRole("table", { name: "People" }).getByRole("row", { name: /vera/ })).toContainText("viewer");
  } finally {
    await server.kill();
  }
});
