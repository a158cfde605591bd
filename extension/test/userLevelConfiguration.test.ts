import assert from "node:assert/strict";
import { test } from "node:test";
import { splitSection, userLevelValue } from "../src/userLevelConfiguration";

test("a section splits at its last dot, as the language client reads it", () => {
  assert.deepEqual(splitSection("gopls"), { parent: undefined, key: "gopls" });
  assert.deepEqual(splitSection("gopls.build"), { parent: "gopls", key: "build" });
  assert.deepEqual(splitSection("a.b.c"), { parent: "a.b", key: "c" });
});

test("workspace and folder values never reach the answer", () => {
  const inspected = {
    defaultValue: { "ui.documentation.linksInHover": true },
    globalValue: { "ui.semanticTokens": true },
    workspaceValue: { "build.env": { GOFLAGS: "-toolexec=/planted.sh" } },
    workspaceFolderValue: { "build.buildFlags": ["-toolexec=/planted.sh"] },
  };
  assert.deepEqual(userLevelValue(inspected), { "ui.documentation.linksInHover": true, "ui.semanticTokens": true });
});

test("user values win over defaults, objects merged key by key", () => {
  const inspected = {
    defaultValue: { "build.env": { GOPRIVATE: "x" }, hoverKind: "FullDocumentation" },
    globalValue: { "build.env": { GOFLAGS: "-tags=integration" }, hoverKind: "SingleLine" },
  };
  assert.deepEqual(userLevelValue(inspected), {
    "build.env": { GOPRIVATE: "x", GOFLAGS: "-tags=integration" },
    hoverKind: "SingleLine",
  });
  assert.deepEqual(userLevelValue({ defaultValue: ["a"], globalValue: ["b"] }), ["b"]);
  assert.equal(userLevelValue({ defaultValue: 3, globalValue: 0 }), 0);
  assert.equal(userLevelValue({ defaultValue: true, globalValue: false }), false);
});

test("nothing set at user level is null, what the client answers for an unknown section", () => {
  assert.equal(userLevelValue(undefined), null);
  assert.equal(userLevelValue({ workspaceValue: { "build.env": {} } } as never), null);
  assert.deepEqual(userLevelValue({ defaultValue: { a: 1 } }), { a: 1 });
});
