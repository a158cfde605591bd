// Bundles the extension into out/extension.js (what package.json's "main" loads) and,
// with --tests, each unit test into out/test/ for `node --test`.
import { build, context } from "esbuild";
import { readdirSync } from "node:fs";

const args = new Set(process.argv.slice(2));
const production = args.has("--production");

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: !production,
  minify: production,
  logLevel: "warning",
};

const extension = {
  ...common,
  entryPoints: ["extension/src/extension.ts"],
  outfile: "out/extension.js",
  external: ["vscode"],
};

const testDir = "extension/test";
const tests = {
  ...common,
  entryPoints: readdirSync(testDir)
    .filter((name) => name.endsWith(".test.ts"))
    .map((name) => `${testDir}/${name}`),
  outdir: "out/test",
  // Unit tests cover the modules that do not need a running VS Code.
  external: ["vscode"],
};

if (args.has("--watch")) {
  const ctx = await context(extension);
  await ctx.watch();
} else {
  await build(args.has("--tests") ? tests : extension);
}
