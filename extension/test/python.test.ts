import assert from "node:assert/strict";
import { test } from "node:test";
import {
  atLeast, basePythonCandidates, findPython, parsePythonVersion, probePython, sidecarInterpreterFlags,
} from "../src/python";

test("versions parse from the probe's output", () => {
  assert.deepEqual(parsePythonVersion("3.12.4\n"), { major: 3, minor: 12, micro: 4 });
  assert.equal(parsePythonVersion("Python 3.12.4"), undefined);
  assert.equal(parsePythonVersion(""), undefined);
});

test("version comparison goes major, minor, micro", () => {
  const min = { major: 3, minor: 11, micro: 0 };
  assert.ok(atLeast({ major: 3, minor: 11, micro: 0 }, min));
  assert.ok(atLeast({ major: 3, minor: 13, micro: 0 }, min));
  assert.ok(!atLeast({ major: 3, minor: 10, micro: 14 }, min));
  assert.ok(!atLeast({ major: 2, minor: 99, micro: 0 }, min));
});

test("base candidates try the newest supported Python first, then python3", () => {
  assert.deepEqual(basePythonCandidates(["3.11", "3.13", "3.12"]), ["python3.13", "python3.12", "python3.11", "python3", "python"]);
});

test("the real python3 answers the probe; a missing interpreter does not", async () => {
  const version = await probePython("python3");
  assert.ok(version !== undefined && atLeast(version, { major: 3, minor: 10, micro: 0 }));
  assert.equal(await probePython("/nonexistent/python"), undefined);
});

test("lookup skips missing and unaccepted interpreters", async () => {
  const found = await findPython(["/nonexistent/python", "python3"], (v) => v.major === 3);
  assert.equal(found?.python, "python3");
  assert.equal(await findPython(["python3"], (v) => v.major === 2), undefined);
});

test("the bundled environment runs isolated; a configured Python keeps its user site but not the current directory", () => {
  assert.deepEqual(sidecarInterpreterFlags({ kind: "bundled", path: "/env/bin/python" }), ["-I", "-u"]);
  const configured = (minor: number): string[] =>
    sidecarInterpreterFlags({ kind: "configured", path: "python3", version: { major: 3, minor, micro: 0 } });
  assert.deepEqual(configured(12), ["-P", "-u"]);
  assert.deepEqual(configured(11), ["-P", "-u"]);
  assert.deepEqual(configured(10), ["-u"]); // no -P before 3.11: the private cwd alone keeps the folder out
});
