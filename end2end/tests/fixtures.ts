// The `test` every spec uses: Playwright's, plus two checks on every page a
// test opens:
// - the page never threw — a hydration mismatch panics the WASM client and
//   leaves a page that looks right but no longer reacts, which assertions on
//   text alone miss;
// - the Content-Security-Policy blocked nothing — a script or style the
//   policy refuses is a page that silently does not hydrate or look right.
import { test as base, expect } from "@playwright/test";

export const test = base.extend<{ failOnPageErrors: void }>({
  failOnPageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const violations: string[] = [];
      await page.exposeFunction("__reportCspViolation", (v: string) => violations.push(v));
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) => {
          (window as any).__reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
        });
      });
      await use();
      expect(errors, "uncaught errors in the page").toEqual([]);
      expect(violations, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
export type { APIRequestContext } from "@playwright/test";
