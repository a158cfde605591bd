import assert from "node:assert/strict";
import { test } from "node:test";
import packageJson from "../../package.json";
import { COMMAND_NAMES, readManifest } from "../src/manifest";

const manifest = readManifest(packageJson);
const properties = packageJson.contributes.configuration.properties as Record<string, { scope?: string }>;

test("every command the code registers is contributed with a Go: title", () => {
  for (const name of COMMAND_NAMES) {
    assert.equal(manifest.commandId(name), `goSidecar.${name}`);
    assert.match(manifest.commandTitle(name), /^Go: /);
  }
  assert.equal(manifest.commandTitle("healthCheck"), "Go: Health Check");
  assert.equal(manifest.commandTitle("restartGopls"), "Go: Restart gopls (Sidecar)");
});

test("the settings cover the contract's keys under one section", () => {
  assert.equal(manifest.section, "goSidecar");
  const contractKeys = ["gopls.path", "gopls.args", "gopls.env", "memory.limitMB", "fileEvents.debounceMs",
    "ai.enabled", "ai.modelPath", "ai.kvCacheType"];
  for (const key of contractKeys) {
    assert.ok(manifest.settingKeys.includes(key), key);
  }
  assert.equal(manifest.defaults["ai.kvCacheType"], "q8_0");
  assert.equal(manifest.defaults["ai.enabled"], true);
});

test("settings naming an executable or a file are machine-overridable and restricted in untrusted folders", () => {
  const restricted = packageJson.capabilities.untrustedWorkspaces.restrictedConfigurations;
  for (const key of ["python", "gopls.path", "gopls.env", "ai.modelPath"]) {
    assert.ok(restricted.includes(`goSidecar.${key}`), key);
    assert.equal(properties[`goSidecar.${key}`]?.scope, "machine-overridable", key);
  }
  for (const key of restricted) {
    assert.ok(key in properties, `${key} is restricted but not contributed`);
  }
});

test("settings that send code off the machine or change what gopls runs are never read from a workspace", () => {
  // `machine`: VS Code ignores a workspace's value even in a trusted folder.
  for (const key of ["ai.backend", "gopls.args"]) {
    assert.equal(properties[`goSidecar.${key}`]?.scope, "machine", key);
  }
});

test("an unknown command name is an error, not a silent id", () => {
  assert.throws(() => readManifest({ ...packageJson, contributes: { ...packageJson.contributes, commands: [] } })
    .commandId("healthCheck"), /contributes no command goSidecar.healthCheck/);
});
