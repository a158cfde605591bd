// The status bar item: gopls's memory against its limit and the AI state, refreshed
// from goSidecar/health every few seconds; click opens the Health Check.
import * as vscode from "vscode";
import { type HealthReport, statusView } from "./health";
import { HEALTH_METHOD } from "./protocol";
import type { Sidecar, SidecarState } from "./sidecarClient";
const HEALTH_TIMEOUT_MS = 4000;

export class SidecarStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("goSidecar.status", vscode.StatusBarAlignment.Right, 100);
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly sidecar: Sidecar,
    healthCommand: string,
    private readonly pollSeconds: () => number,
  ) {
    this.item.name = "Go Sidecar";
    this.item.command = healthCommand;
    this.showState(sidecar.state);
    this.item.show();
    sidecar.onDidChangeState((state) => {
      this.showState(state);
    });
    this.schedule();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.item.dispose();
  }

  /** Restarts the poll timer, e.g. after the poll interval setting changed. */
  schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.poll().finally(() => {
        this.schedule();
      });
    }, this.pollSeconds() * 1000);
  }

  async poll(): Promise<void> {
    if (this.polling || this.sidecar.state.kind !== "running") {
      return;
    }
    this.polling = true;
    try {
      this.showReport(await this.sidecar.request<HealthReport>(HEALTH_METHOD, HEALTH_TIMEOUT_MS));
    } catch (error) {
      this.show("$(warning) Go Sidecar", `No health report: ${String(error)}`, "warning");
    } finally {
      this.polling = false;
    }
  }

  private showState(state: SidecarState): void {
    if (state.kind === "starting") {
      this.show("$(sync~spin) Go Sidecar", "Starting the sidecar and gopls", "normal");
    } else if (state.kind === "stopped") {
      this.show("$(error) Go Sidecar", `Stopped: ${state.reason}\nClick for the Health Check`, "error");
    } else {
      void this.poll();
    }
  }

  private showReport(report: HealthReport): void {
    const view = statusView(report);
    this.show(view.text, view.tooltip, view.level);
  }

  private show(text: string, tooltip: string, level: "normal" | "warning" | "error"): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      level === "normal" ? undefined : new vscode.ThemeColor(`statusBarItem.${level}Background`);
  }
}
