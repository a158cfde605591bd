import assert from "node:assert/strict";
import { test } from "node:test";
import { acceptanceChart, CHART, fileEventsChart, historySection, latencyChart, rssChart } from "../src/healthCharts";
import { emptyHistory, MB } from "./reportFixture";

const BASELINE = CHART.height - CHART.bottom;
const BUCKETS = 360;

/** The attributes of every element `<tag class="cls" …>` in an SVG string. */
function elements(svg: string, tag: string, cls: string): Record<string, string>[] {
  const found = [...svg.matchAll(new RegExp(`<${tag} class="${cls}"([^>]*)>`, "g"))];
  return found.map((match) => Object.fromEntries([...(match[1] ?? "").matchAll(/([\w-]+)="([^"]*)"/g)]
    .map((attr) => [attr[1] ?? "", attr[2] ?? ""])));
}

function points(svg: string, series: string): [number, number][][] {
  return elements(svg, "polyline", series).map((line) =>
    (line.points ?? "").split(" ").map((pair) => pair.split(",").map(Number) as [number, number]));
}

/** A value back from a y coordinate, given the y of a known value (the limit line). */
function valueAt(y: number, knownY: number, knownValue: number): number {
  return ((BASELINE - y) / (BASELINE - knownY)) * knownValue;
}

test("the RSS chart draws each bucket's highest RSS against the limit line, with gaps and restart markers", () => {
  const history = emptyHistory(BUCKETS);
  history.rssBytes.max[10] = 400 * MB;
  history.rssBytes.max[11] = 1600 * MB;
  history.rssBytes.max[200] = 500 * MB; // after a gap: a second line
  history.restarts = [{ time: "2026-01-01T10:02:00+00:00", reason: "rss-limit", rssBytes: 2100 * MB }];
  const svg = rssChart(history, 2048 * MB);

  const [limit] = elements(svg, "line", "limit");
  const limitY = Number(limit?.y1);
  const lines = points(svg, "rss");
  assert.equal(lines.length, 2, "a gap in the samples is not bridged");
  const drawn = lines.flat().map(([x, y]) => [x, valueAt(y, limitY, 2048)]);
  // Coordinates have 0.1 px resolution: about 2 MB on this axis.
  assert.deepEqual(drawn.map(([, mb]) => Math.round((mb ?? 0) / 10) * 10), [400, 1600, 500]);
  const [x10 = 0, x11 = 0, x200 = 0] = drawn.map(([x]) => x ?? 0);
  assert.ok(x10 < x11 && x11 < x200, "later buckets are further right");
  assert.ok(x200 > CHART.left + (CHART.width - CHART.left - CHART.right) / 2, "bucket 200 of 360 is right of the middle");

  const [marker = {}] = elements(svg, "g", "restart");
  assert.equal(marker["data-reason"], "rss-limit");
  assert.equal(marker["data-bucket"], "12", "10:02:00 is 120 s after the start: bucket 12");
  assert.match(svg, /<title id="chart-rss-title">/);
  assert.match(svg, /aria-labelledby="chart-rss-title chart-rss-desc"/);
  assert.match(svg, /<desc id="chart-rss-desc">gopls now uses 500 MB, at most 1.6 GB of a 2.0 GB limit. 1 restart\(s\) in the chart: rss-limit.<\/desc>/);
});

test("the file-event chart shows what was received and what reached gopls on one scale", () => {
  const history = emptyHistory(BUCKETS);
  history.fileEvents.received[300] = 800;
  history.fileEvents.forwarded[300] = 40;
  history.fileEvents.received[301] = 200;
  history.fileEvents.forwarded[301] = 200;
  const svg = fileEventsChart(history);

  const heights = (cls: string): number[] => elements(svg, "rect", cls).map((rect) => Number(rect.height));
  const [busiest = 0] = heights("received");
  assert.equal(heights("received").length, 2, "empty buckets draw no bar");
  const asCounts = (cls: string): number[] => heights(cls).map((h) => Math.round((h / busiest) * 800));
  assert.deepEqual(asCounts("received"), [800, 200]);
  assert.deepEqual(asCounts("forwarded"), [40, 200]);
  assert.match(svg, /1000 file events received, 240 forwarded to gopls \(760 collapsed\)/);
});

test("the latency chart has one bar per bin and the acceptance rate its share", () => {
  const history = emptyHistory(3);
  history.latencyMs.counts = [0, 4, 8, 2, 0, 0, 0, 1];
  const latency = latencyChart(history);
  const heights = elements(latency, "rect", "latency").map((rect) => Number(rect.height));
  const tallest = Math.max(...heights);
  assert.deepEqual(heights.map((h) => Math.round((h / tallest) * 8)), [0, 4, 8, 2, 0, 0, 0, 1]);
  assert.match(latency, /<title>≥3200 ms: 1<\/title>/);

  history.suggestions = { shown: [0, 0, 8], accepted: [0, 0, 2], shownTotal: 8, acceptedTotal: 2 };
  const acceptance = acceptanceChart(history);
  const [shown] = elements(acceptance, "rect", "shown");
  const [accepted] = elements(acceptance, "rect", "accepted");
  assert.equal(Number(accepted?.width) / Number(shown?.width), 0.25);
  assert.match(acceptance, /2 of 8 accepted \(25 %\)/);
});

test("the history section has a data table for screen readers and escapes what the sidecar sent", () => {
  const history = emptyHistory(12); // two minutes
  history.rssBytes.max[0] = 100 * MB;
  history.fileEvents.received[7] = 5;
  history.restarts = [{ time: "2026-01-01T10:00:30+00:00", reason: "<crash>" as "crash", rssBytes: 0 }];
  const html = historySection(history, 0);
  assert.match(html, /<tr><td>2 min ago<\/td><td>100 MB<\/td><td>0<\/td>/);
  assert.match(html, /<tr><td>1 min ago<\/td><td>–<\/td><td>5<\/td>/);
  assert.ok(!html.includes("<crash>") && html.includes("&lt;crash&gt;"));
  assert.equal(elements(html, "line", "limit").length, 0, "no limit, no limit line");
});
