import assert from "node:assert/strict";
import { test } from "node:test";
import { CrashPolicy } from "../src/crashPolicy";

test("crashes restart until the budget in the window is spent", () => {
  const policy = new CrashPolicy(2, 1000);
  assert.ok(policy.recordCrash(0));
  assert.ok(policy.recordCrash(100));
  assert.ok(!policy.recordCrash(200));
});

test("crashes older than the window no longer count", () => {
  const policy = new CrashPolicy(2, 1000);
  policy.recordCrash(0);
  policy.recordCrash(100);
  assert.ok(policy.recordCrash(1500));
  assert.equal(policy.recentCrashes, 1);
});
