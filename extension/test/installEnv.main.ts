// A command-line entry point to bundledEnv.ts for tests/reach/test_universal_package.py:
// installs the environment exactly as the extension does on first start, without VS Code.
//   node installEnv.main.js WHEELS_DIR STORAGE_DIR VERSION
// Progress and pip's lines go to stderr; the environment's Python is the last stdout line.
import { installBundledEnv } from "../src/bundledEnv";

async function main(): Promise<void> {
  const [wheelsDir, storageDir, version] = process.argv.slice(2);
  if (wheelsDir === undefined || storageDir === undefined || version === undefined) {
    throw new Error("usage: installEnv.main.js WHEELS_DIR STORAGE_DIR VERSION");
  }
  const python = await installBundledEnv({
    wheelsDir,
    storageDir,
    version,
    report: (message) => process.stderr.write(`progress: ${message}\n`),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${python}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
