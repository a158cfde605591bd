import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { bundledEnvDir, envPython, findBundledEnv, isolatedPipEnv, onlinePipEnv, pipProgressMessage } from "../src/bundledEnv";

test("pip's output becomes short progress messages", () => {
  assert.equal(pipProgressMessage("Processing /ext/wheels/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"),
    "unpacking llama-cpp-python");
  assert.equal(pipProgressMessage("Processing ./wheels/numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.whl"), "unpacking numpy");
  assert.match(pipProgressMessage("Installing collected packages: numpy, pygls") ?? "", /installing packages/);
  assert.equal(pipProgressMessage("Looking in links: /ext/wheels"), undefined);
});

test("an environment counts as installed only when finished for the same requirement", async () => {
  const root = await mkdtemp(path.join(tmpdir(), "gosidecar-env-"));
  try {
    const wheels = path.join(root, "wheels");
    await mkdir(wheels);
    await writeFile(path.join(wheels, "manifest.json"),
      JSON.stringify({ requirement: "gosidecar[model]==0.1.0", pythonVersions: ["3.11"], pipWheel: "pip.whl" }));
    const envDir = bundledEnvDir(path.join(root, "storage"), "0.1.0");
    assert.equal(await findBundledEnv(wheels, path.join(root, "storage"), "0.1.0"), undefined);
    await mkdir(path.join(envDir, "bin"), { recursive: true });
    await symlink("/usr/bin/env", envPython(envDir));
    assert.equal(await findBundledEnv(wheels, path.join(root, "storage"), "0.1.0"), undefined);
    await writeFile(path.join(envDir, ".gosidecar-ready"), "gosidecar[model]==0.0.9");
    assert.equal(await findBundledEnv(wheels, path.join(root, "storage"), "0.1.0"), undefined);
    await writeFile(path.join(envDir, ".gosidecar-ready"), "gosidecar[model]==0.1.0");
    assert.equal(await findBundledEnv(wheels, path.join(root, "storage"), "0.1.0"), envPython(envDir));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("the offline install ignores the machine's pip configuration", () => {
  const env = isolatedPipEnv({ PATH: "/usr/bin", PIP_FIND_LINKS: "/opt/wheels", PIP_INDEX_URL: "https://x" });
  assert.deepEqual(env, { PATH: "/usr/bin", PIP_CONFIG_FILE: "/dev/null", PYTHONNOUSERSITE: "1" });
});

test("the online install's progress names what pip downloads and the slow source build", () => {
  assert.equal(pipProgressMessage("  Downloading pygls-2.1.1-py3-none-any.whl.metadata (6.1 kB)"), "downloading pygls");
  assert.match(pipProgressMessage("  Building wheel for llama-cpp-python (pyproject.toml): started") ?? "",
    /building llama-cpp-python from source/);
});

test("the online install keeps the user's pip configuration (index, proxy)", () => {
  const env = onlinePipEnv({ PATH: "/usr/bin", PIP_INDEX_URL: "https://mirror" });
  assert.deepEqual(env, { PATH: "/usr/bin", PIP_INDEX_URL: "https://mirror", PYTHONNOUSERSITE: "1" });
});

test("the environment's Python is where venv puts it on each platform", () => {
  assert.equal(envPython("/env", "darwin"), path.join("/env", "bin", "python"));
  assert.equal(envPython("/env", "win32"), path.join("/env", "Scripts", "python.exe"));
});
