import assert from "node:assert/strict";
import { test } from "node:test";
import packageJson from "../../package.json";
import { readManifest } from "../src/manifest";
import { isSidecarKey, nestSettings, sidecarSettings } from "../src/settings";

test("dotted keys nest into objects as the contract says", () => {
  assert.deepEqual(nestSettings({ "memory.limitMB": 2048, "ai.enabled": false, "ai.kvCacheType": "q4_0" }), {
    memory: { limitMB: 2048 },
    ai: { enabled: false, kvCacheType: "q4_0" },
  });
});

test("values keep their JSON shape: arrays, objects, zero and empty strings", () => {
  assert.deepEqual(
    nestSettings({ "gopls.args": ["-rpc.trace"], "gopls.env": { GOFLAGS: "-tags=x" }, "memory.limitMB": 0, "gopls.path": "" }),
    { gopls: { args: ["-rpc.trace"], env: { GOFLAGS: "-tags=x" }, path: "" }, memory: { limitMB: 0 } },
  );
});

test("unset (null) values are left out so the sidecar applies its default", () => {
  assert.deepEqual(nestSettings({ "memory.limitMB": null, "fileEvents.debounceMs": 100 }), {
    fileEvents: { debounceMs: 100 },
  });
});

test("the package.json defaults give the sidecar every contract key except client-only ones", () => {
  const manifest = readManifest(packageJson);
  const nested = sidecarSettings(manifest.settingKeys, (key) => manifest.defaults[key]);
  assert.deepEqual(nested.gopls, { path: "", args: [], env: {} });
  assert.deepEqual(nested.fileEvents, { debounceMs: 100 });
  assert.equal((nested.ai as Record<string, unknown>).kvCacheType, "q8_0");
  assert.deepEqual(nested.memory, { spikeMB: 512 }); // limitMB null: the sidecar picks its default
  assert.equal(nested.python, undefined);
  assert.equal(nested.trace, undefined);
  assert.ok(!isSidecarKey("statusPollSeconds"));
});
