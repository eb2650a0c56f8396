// Prints the WASM each page needs, as built by
// `cargo leptos build --release --split --precompress`: the main bundle plus
// the page's chunks (from the split manifest), raw, gzip -9 and brotli 11 —
// brotli being what the server sends browsers that accept it.
//
//   node end2end/bench/bundle-size.mjs
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

const pkg = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "..", "target", "site", "pkg");
const manifest = JSON.parse(fs.readFileSync(path.join(pkg, "__wasm_split_manifest.json"), "utf8"));
const sizes = (name) => {
  const bytes = fs.readFileSync(path.join(pkg, `${name}.wasm`));
  return [
    bytes.length,
    zlib.gzipSync(bytes, { level: 9 }).length,
    zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  ];
};
const total = (names) => [...new Set(names)].map(sizes).reduce((a, s) => a.map((x, i) => x + s[i]), [0, 0, 0]);
const kb = ([raw, gz, br]) => `${(raw / 1000).toFixed(0)} KB, gzip ${(gz / 1000).toFixed(0)} KB, brotli ${(br / 1000).toFixed(0)} KB`;
const pages = {
  "run list (/)": ["run_list_route"],
  "run page, until interactive": ["run_route"],
  "run page with graph and state history": ["run_route", "graph_section", "state_history_section"],
  "compare page": ["compare_route"],
  "metrics page": ["stats_route"],
};
console.log(`main bundle (every page): ${kb(total(["tracevis"]))}`);
for (const [page, parts] of Object.entries(pages)) {
  const chunks = Object.entries(manifest)
    .filter(([split]) => parts.some((p) => split.replace(/^__/, "").startsWith(`${p}_`)))
    .flatMap(([, files]) => files);
  console.log(`${page}: ${kb(total(["tracevis", ...chunks]))}`);
}
const everything = fs.readdirSync(pkg).filter((f) => f.endsWith(".wasm")).map((f) => f.slice(0, -5));
console.log(`every chunk of every page together: ${kb(total(everything))}`);
