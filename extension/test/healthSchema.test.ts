// The report type in health.ts against server/gosidecar/health_schema.json, which pytest
// checks against the sidecar's real report: neither side can add or drop a key alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import schema from "../../server/gosidecar/health_schema.json";
import { MB, report } from "./reportFixture";

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  oneOf?: Schema[];
  pattern?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: Schema;
  minimum?: number;
}

function typeOf(value: unknown): string {
  if (value === null) {
    return "null";
  }
  if (Array.isArray(value)) {
    return "array";
  }
  return typeof value === "number" && Number.isInteger(value) ? "integer" : typeof value;
}

/** What in `value` breaks `rule`: the subset of JSON Schema that health_schema.json uses. */
function schemaErrors(value: unknown, rule: Schema, where = "report"): string[] {
  if (rule.oneOf !== undefined) {
    return oneOfErrors(value, rule.oneOf, where);
  }
  if ("const" in rule) {
    return value === rule.const ? [] : [`${where}: ${JSON.stringify(value)} is not ${JSON.stringify(rule.const)}`];
  }
  if (rule.enum !== undefined) {
    return rule.enum.includes(value) ? [] : [`${where}: ${JSON.stringify(value)} not in ${JSON.stringify(rule.enum)}`];
  }
  const types = Array.isArray(rule.type) ? rule.type : [rule.type ?? ""];
  const actual = typeOf(value);
  if (!types.includes(actual) && !(actual === "integer" && types.includes("number"))) {
    return [`${where}: ${JSON.stringify(value)} is not ${types.join(" or ")}`];
  }
  if (typeof value === "number" && rule.minimum !== undefined && value < rule.minimum) {
    return [`${where}: ${value} below ${rule.minimum}`];
  }
  if (typeof value === "string" && rule.pattern !== undefined && !new RegExp(rule.pattern, "u").test(value)) {
    return [`${where}: ${JSON.stringify(value)} does not match ${rule.pattern}`];
  }
  if (Array.isArray(value)) {
    return value.flatMap((item, i) => schemaErrors(item, rule.items ?? {}, `${where}[${i}]`));
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    const properties = rule.properties ?? {};
    return [
      ...(rule.required ?? []).filter((key) => !(key in object)).map((key) => `${where}: no "${key}"`),
      ...Object.keys(object).filter((key) => !(key in properties)).map((key) => `${where}: "${key}" is not in the schema`),
      ...Object.entries(object).flatMap(([key, item]) =>
        properties[key] === undefined ? [] : schemaErrors(item, properties[key], `${where}.${key}`)),
    ];
  }
  return [];
}

/** No errors when exactly one choice fits; else what each choice found wrong (JSON Schema's `oneOf`). */
function oneOfErrors(value: unknown, choices: Schema[], where: string): string[] {
  const errors = choices.map((choice) => schemaErrors(value, choice, where));
  const fitting = errors.filter((e) => e.length === 0).length;
  if (fitting === 1) {
    return [];
  }
  return fitting > 1 ? [`${where}: fits ${fitting} choices of oneOf`]
    : [`${where}: fits no choice of oneOf: ${errors.map((e) => e.join("; ")).join(" | ")}`];
}

function fullReport(): ReturnType<typeof report> {
  const full = report();
  full.gopls.restartLog = [{ time: "2026-01-01T10:05:00+00:00", reason: "crash", rssBytes: 900 * MB }];
  full.history.restarts = full.gopls.restartLog;
  full.history.rssBytes.max[1] = 900 * MB;
  full.problems = [
    { severity: "error", message: "m", fix: "f", action: { kind: "setting", key: "goSidecar.memory.limitMB", value: 4096 } },
    { severity: "error", message: "m", fix: "f", action: { kind: "setting", key: "goSidecar.gopls.path", value: null } },
    { severity: "warning", message: "m", fix: "f", action: { kind: "command", command: "goSidecar.restartGopls", title: "Restart gopls" } },
    { severity: "info", message: "m", fix: "f", action: null },
  ];
  return full;
}

test("health.ts's HealthReport has exactly the schema's keys and types", () => {
  assert.deepEqual(schemaErrors(fullReport(), schema as Schema), []);
});

test("the schema check catches drift on either side", () => {
  const drifted = fullReport() as unknown as { ai: Record<string, unknown>; fileEvents: Record<string, unknown> };
  delete drifted.ai.cacheHits;
  drifted.fileEvents.storms = 3;
  drifted.ai.state = "sleeping";
  assert.deepEqual(schemaErrors(drifted, schema as Schema), [
    'report.fileEvents: "storms" is not in the schema',
    'report.ai: no "cacheHits"',
    'report.ai.state: "sleeping" not in ["ready","loading","unloaded","disabled","error"]',
  ]);
});

test("the schema takes only the two action shapes, each naming the extension's own setting or command", () => {
  const bad = fullReport() as unknown as { problems: { action: unknown }[] };
  bad.problems = [
    { kind: "setting", key: "go.useLanguageServer", value: false },
    { kind: "command", command: "goSidecar.restartGopls" },
    "goSidecar.restartGopls",
  ].map((action) => ({ severity: "error", message: "m", fix: "f", action }));
  const errors = schemaErrors(bad, schema as Schema);
  assert.equal(errors.length, 3, errors.join("\n"));
  assert.match(errors[0] ?? "", /^report\.problems\[0\]\.action: fits no choice.*"go\.useLanguageServer" does not match/);
  assert.match(errors[1] ?? "", /^report\.problems\[1\]\.action: fits no choice.*no "title"/);
  assert.match(errors[2] ?? "", /^report\.problems\[2\]\.action: fits no choice/);
});
