// Starts and stops a tracevis server of the test's own, for tests that need to
// restart it (the shared webServer of playwright.config.ts cannot be).
import { execFileSync, spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(__dirname, "..", "..", "target");
// The release build (split WASM, precompressed assets): what users run.
const binary = path.join(targetDir, "release", "tracevis");

export class TestServer {
  private child?: ChildProcess;
  readonly dbFile: string;
  /** Sent as a bearer token by `post` (a server that requires sign-in). */
  token?: string;

  /** `extraArgs` go to `tracevis serve` (e.g. `["--auth", "required"]`). */
  constructor(readonly port: number, readonly extraArgs: string[] = []) {
    this.dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tracevis-e2e-")), "live.db");
  }

  /** Runs `tracevis ARGS --database-url <this server's database>`; its stdout. */
  cli(args: string[], stdin = ""): string {
    const out = execFileSync(binary, [...args, "--database-url", `sqlite://${this.dbFile}`], {
      input: stdin,
      env: { ...process.env, TRACEVIS_CONFIG: "/nonexistent.toml" },
    });
    return out.toString();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      binary,
      ["serve", "--addr", `127.0.0.1:${this.port}`, "--database-url", `sqlite://${this.dbFile}`, ...this.extraArgs],
      { cwd: path.join(__dirname, "..", ".."), stdio: "ignore", env: { ...process.env, TRACEVIS_CONFIG: "/nonexistent.toml" } },
    );
    for (let i = 0; i < 200; i++) {
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("tracevis did not start");
  }

  /** SIGKILL: no graceful shutdown, sockets just drop. */
  kill(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.child || this.child.exitCode !== null) return resolve();
      this.child.once("exit", () => resolve());
      this.child.kill("SIGKILL");
    });
  }

  async post(pathname: string, body: unknown): Promise<void> {
    const r = await fetch(`${this.url}${pathname}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${pathname}: ${r.status} ${await r.text()}`);
  }
}
