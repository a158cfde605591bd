// The Health Check's charts, drawn as plain SVG strings from the report's history.
//
// Plain SVG rather than a chart library: four simple charts need ~200 lines, where the
// small libraries (uPlot ~50 KB, Chart.js ~200 KB) would add a bundled dependency to keep
// up to date, a canvas that screen readers cannot read and inline styles that fight the
// webview's strict CSP. Colours come from VS Code's theme variables (see STYLE in
// healthHtml.ts), so light, dark and high-contrast themes all work; every chart has a
// <title>, a <desc> and the numbers in a data table.
import { formatBytes, type HealthHistory } from "./health";
import { escapeHtml } from "./html";

/** Chart geometry, exported so that tests can turn drawn coordinates back into values. */
export const CHART = { width: 640, height: 170, left: 64, right: 12, top: 12, bottom: 26 } as const;
const PLOT_WIDTH = CHART.width - CHART.left - CHART.right;
const PLOT_HEIGHT = CHART.height - CHART.top - CHART.bottom;
const BASELINE = CHART.top + PLOT_HEIGHT;

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** x of a bucket's left edge, y of a value on a 0..top axis. */
class Scale {
  constructor(
    private readonly buckets: number,
    private readonly top: number,
  ) {}

  x(index: number): number {
    return round(CHART.left + (index * PLOT_WIDTH) / Math.max(1, this.buckets));
  }

  y(value: number): number {
    return round(BASELINE - (PLOT_HEIGHT * value) / (this.top || 1));
  }

  get barWidth(): number {
    return round(PLOT_WIDTH / Math.max(1, this.buckets));
  }
}

function figure(id: string, title: string, description: string, body: string, height: number = CHART.height): string {
  return (
    `<figure class="chart"><svg id="${id}" viewBox="0 0 ${CHART.width} ${height}" width="100%" ` +
    `role="img" aria-labelledby="${id}-title ${id}-desc"><title id="${id}-title">${escapeHtml(title)}</title>` +
    `<desc id="${id}-desc">${escapeHtml(description)}</desc>${body}</svg>` +
    `<figcaption>${escapeHtml(title)}</figcaption></figure>`
  );
}

function axes(scale: Scale, top: string, history: HealthHistory): string {
  const minutes = Math.round((history.rssBytes.max.length * history.bucketSeconds) / 60);
  const right = CHART.width - CHART.right;
  return (
    `<line class="axis" x1="${CHART.left}" y1="${BASELINE}" x2="${right}" y2="${BASELINE}"/>` +
    `<line class="grid" x1="${CHART.left}" y1="${CHART.top}" x2="${right}" y2="${CHART.top}"/>` +
    `<text class="label" x="${CHART.left - 4}" y="${CHART.top + 4}" text-anchor="end">${escapeHtml(top)}</text>` +
    `<text class="label" x="${CHART.left - 4}" y="${BASELINE}" text-anchor="end">0</text>` +
    `<text class="label" x="${CHART.left}" y="${CHART.height - 6}">${minutes} min ago</text>` +
    `<text class="label" x="${right}" y="${CHART.height - 6}" text-anchor="end">now</text>` +
    `<line class="tick" x1="${scale.x(0)}" y1="${BASELINE}" x2="${scale.x(0)}" y2="${BASELINE + 4}"/>`
  );
}

/** One polyline per run of buckets that have a value: no line is drawn across a gap. */
function polylines(values: (number | null)[], scale: Scale, series: string): string {
  const runs: string[][] = [[]];
  values.forEach((value, index) => {
    if (value === null) {
      runs.push([]);
    } else {
      runs.at(-1)?.push(`${round(scale.x(index) + scale.barWidth / 2)},${scale.y(value)}`);
    }
  });
  return runs
    .filter((points) => points.length > 0)
    .map((points) => `<polyline class="${series}" data-series="${series}" points="${points.join(" ")}"/>`)
    .join("");
}

function bucketOf(history: HealthHistory, time: string): number {
  return Math.floor((Date.parse(time) - Date.parse(history.start)) / 1000 / history.bucketSeconds);
}

export function rssChart(history: HealthHistory, limitBytes: number): string {
  const values = history.rssBytes.max;
  const present = values.filter((value): value is number => value !== null);
  const highest = Math.max(0, ...present);
  const top = Math.max(highest, limitBytes) * 1.1 || 1;
  const scale = new Scale(values.length, top);
  const limit = limitBytes > 0
    ? `<line class="limit" data-series="limit" x1="${CHART.left}" y1="${scale.y(limitBytes)}" ` +
      `x2="${CHART.width - CHART.right}" y2="${scale.y(limitBytes)}"/>` +
      `<text class="label limit-label" x="${CHART.width - CHART.right - 2}" y="${scale.y(limitBytes) - 4}" ` +
      `text-anchor="end">limit ${formatBytes(limitBytes)}</text>`
    : "";
  const restarts = history.restarts
    .map((restart) => ({ restart, index: bucketOf(history, restart.time) }))
    .filter(({ index }) => index >= 0 && index < values.length);
  const markers = restarts.map(({ restart, index }) => {
    const x = round(scale.x(index) + scale.barWidth / 2);
    // Below the limit's label, and on the marker's side that has room: a restart is
    // usually recent, at the right edge.
    const label = x > CHART.left + PLOT_WIDTH / 2 ? `x="${x - 3}" text-anchor="end"` : `x="${x + 3}"`;
    return `<g class="restart" data-reason="${escapeHtml(restart.reason)}" data-bucket="${index}">` +
      `<title>${escapeHtml(`gopls restarted (${restart.reason}) at ${formatBytes(restart.rssBytes)}, ${restart.time}`)}</title>` +
      `<line x1="${x}" y1="${CHART.top}" x2="${x}" y2="${BASELINE}"/>` +
      `<text class="label" ${label} y="${CHART.top + 24}">↻ ${escapeHtml(restart.reason)}</text></g>`;
  });
  const latest = present.at(-1);
  const description =
    (latest === undefined ? "No RSS sample yet." : `gopls now uses ${formatBytes(latest)}, at most ${formatBytes(highest)}`) +
    (limitBytes > 0 ? ` of a ${formatBytes(limitBytes)} limit.` : ", no limit.") +
    ` ${restarts.length} restart(s) in the chart${restarts.length ? ": " + restarts.map(({ restart }) => restart.reason).join(", ") : ""}.`;
  return figure("chart-rss", "gopls memory (highest RSS per interval) against the limit", description,
    axes(scale, formatBytes(top), history) + limit + polylines(values, scale, "rss") + markers.join(""));
}

export function fileEventsChart(history: HealthHistory): string {
  const { received, forwarded } = history.fileEvents;
  const top = Math.max(1, ...received, ...forwarded);
  const scale = new Scale(received.length, top);
  const bars = (values: number[], series: string): string =>
    values.map((value, index) => value === 0 ? "" :
      `<rect class="${series}" data-series="${series}" x="${scale.x(index)}" y="${scale.y(value)}" ` +
      `width="${scale.barWidth}" height="${round(BASELINE - scale.y(value))}"/>`).join("");
  const total = (values: number[]): number => values.reduce((sum, value) => sum + value, 0);
  const description = `${total(received)} file events received, ${total(forwarded)} forwarded to gopls ` +
    `(${Math.max(0, total(received) - total(forwarded))} collapsed); the busiest interval had ${Math.max(0, ...received)} received.`;
  const legend = `<text class="label" x="${CHART.left + 4}" y="${CHART.top + 10}"><tspan class="received-key">▭ received</tspan>` +
    ` <tspan class="forwarded-key">■ forwarded to gopls</tspan></text>`;
  return figure("chart-file-events", "File events received and forwarded to gopls per interval", description,
    axes(scale, String(top), history) + bars(received, "received") + bars(forwarded, "forwarded") + legend);
}

export function latencyLabels(edges: number[]): string[] {
  return edges.map((low, index) => {
    const high = edges[index + 1];
    return high === undefined ? `≥${low}` : `${low}–${high}`;
  });
}

export function latencyChart(history: HealthHistory): string {
  const { edges, counts } = history.latencyMs;
  const top = Math.max(1, ...counts);
  const scale = new Scale(counts.length, top);
  const labels = latencyLabels(edges);
  const bars = counts.map((count, index) =>
    `<rect class="latency" data-series="latency" data-bin="${index}" x="${round(scale.x(index) + 2)}" y="${scale.y(count)}" ` +
    `width="${round(scale.barWidth - 4)}" height="${round(BASELINE - scale.y(count))}"><title>${labels[index]} ms: ${count}</title></rect>` +
    `<text class="label" x="${round(scale.x(index) + scale.barWidth / 2)}" y="${CHART.height - 6}" text-anchor="middle">${labels[index]}</text>`);
  const total = counts.reduce((sum, count) => sum + count, 0);
  const description = total === 0 ? "No suggestion timed yet." :
    `${total} suggestions by time to answer in ms: ` + labels.map((label, i) => `${label}: ${counts[i]}`).join(", ") + ".";
  const frame = `<line class="axis" x1="${CHART.left}" y1="${BASELINE}" x2="${CHART.width - CHART.right}" y2="${BASELINE}"/>` +
    `<text class="label" x="${CHART.left - 4}" y="${CHART.top + 4}" text-anchor="end">${top}</text>`;
  return figure("chart-latency", "Ghost-text latency (ms) distribution", description, frame + bars.join(""));
}

const RATE_HEIGHT = 44;

export function acceptanceChart(history: HealthHistory): string {
  const { shownTotal, acceptedTotal } = history.suggestions;
  const share = shownTotal > 0 ? Math.min(1, acceptedTotal / shownTotal) : 0;
  const text = shownTotal === 0 ? "No ghost text shown yet"
    : `${acceptedTotal} of ${shownTotal} accepted (${Math.round(share * 100)} %)`;
  const body = `<rect class="shown" data-series="shown" x="${CHART.left}" y="4" width="${PLOT_WIDTH}" height="18"/>` +
    `<rect class="accepted" data-series="accepted" x="${CHART.left}" y="4" width="${round(share * PLOT_WIDTH)}" height="18"/>` +
    `<text class="label" x="${CHART.left}" y="${RATE_HEIGHT - 6}">${escapeHtml(text)}</text>`;
  return figure("chart-acceptance", "Ghost texts accepted of those shown", text + ".", body, RATE_HEIGHT);
}

/** The time series as a table, one row a minute, for screen readers and copying. */
export function historyTable(history: HealthHistory): string {
  const perRow = Math.max(1, Math.round(60 / history.bucketSeconds));
  const count = history.rssBytes.max.length;
  const rows: string[] = [];
  for (let start = 0; start < count; start += perRow) {
    const slice = <T,>(values: T[]): T[] => values.slice(start, start + perRow);
    const rss = slice(history.rssBytes.max).filter((value): value is number => value !== null);
    const sum = (values: number[]): number => slice(values).reduce((total, value) => total + value, 0);
    const ago = Math.round(((count - start) * history.bucketSeconds) / 60);
    const cells = [`${ago} min ago`, rss.length ? formatBytes(Math.max(...rss)) : "–", sum(history.fileEvents.received),
      sum(history.fileEvents.forwarded), sum(history.suggestions.shown), sum(history.suggestions.accepted)];
    rows.push(`<tr>${cells.map((cell) => `<td>${escapeHtml(String(cell))}</td>`).join("")}</tr>`);
  }
  const head = ["time", "gopls RSS (highest)", "file events received", "forwarded", "ghost texts shown", "accepted"];
  const latency = latencyLabels(history.latencyMs.edges)
    .map((label, i) => `<tr><td>${escapeHtml(label)} ms</td><td>${history.latencyMs.counts[i] ?? 0}</td></tr>`).join("");
  return `<details><summary>The charts' data as tables</summary>` +
    `<table class="data"><caption>Per minute, oldest first</caption><tr>${head.map((h) => `<th scope="col">${h}</th>`).join("")}</tr>${rows.join("")}</table>` +
    `<table class="data"><caption>Ghost-text latency</caption><tr><th scope="col">time to answer</th><th scope="col">suggestions</th></tr>${latency}</table></details>`;
}

export function historySection(history: HealthHistory, limitBytes: number): string {
  return `<section><h2>Last hour</h2><div class="charts">${rssChart(history, limitBytes)}${fileEventsChart(history)}` +
    `${latencyChart(history)}${acceptanceChart(history)}</div>${historyTable(history)}</section>`;
}
