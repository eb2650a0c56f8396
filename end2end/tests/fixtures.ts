// The `test` every spec uses: Playwright's, plus a check that the page never
// threw — a hydration mismatch panics the WASM client and leaves a page that
// looks right but no longer reacts, which assertions on text alone miss.
import { test as base, expect } from "@playwright/test";

export const test = base.extend<{ failOnPageErrors: void }>({
  failOnPageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await use();
      expect(errors, "uncaught errors in the page").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
export type { APIRequestContext } from "@playwright/test";
