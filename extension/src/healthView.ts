// "Go: Health Check": the sidecar's report plus the client's own findings in a webview,
// each problem's fix as a button, the last hour as charts, and "Copy report" as Markdown.
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { vscodeFixEditor } from "./editorActions";
import { goExtensionProblem } from "./goExtension";
import { type HealthReport, ownAction, type Problem } from "./health";
import { applyFix } from "./healthActions";
import { type HealthPage, renderHealthPage } from "./healthHtml";
import { REPORTED_SETTINGS, reportMarkdown } from "./healthMarkdown";
import type { Manifest } from "./manifest";
import { HEALTH_METHOD } from "./protocol";
import type { Sidecar } from "./sidecarClient";

const HEALTH_TIMEOUT_MS = 15_000;

export interface HealthActions {
  showLog(): void;
}

export class HealthView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private page: HealthPage | undefined;

  constructor(
    private readonly sidecar: Sidecar,
    private readonly manifest: Manifest,
    private readonly commands: HealthActions,
  ) {}

  async show(): Promise<void> {
    if (this.panel === undefined) {
      this.panel = vscode.window.createWebviewPanel("goSidecar.health", "Go Sidecar Health", vscode.ViewColumn.Active, {
        enableScripts: true,
        localResourceRoots: [],
      });
      this.panel.onDidDispose(() => {
        this.panel = undefined;
      });
      this.panel.webview.onDidReceiveMessage((message: { fix?: number; command?: string }) => {
        void this.onMessage(message);
      });
    } else {
      this.panel.reveal();
    }
    await this.refresh();
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private async refresh(): Promise<void> {
    const page = await this.loadPage();
    this.page = page;
    if (this.panel !== undefined) {
      const nonce = randomBytes(16).toString("base64");
      this.panel.webview.html = renderHealthPage(page, nonce, this.panel.webview.cspSource);
    }
  }

  private async loadPage(): Promise<HealthPage> {
    let report: HealthReport | undefined;
    let error: string | undefined;
    try {
      report = await this.sidecar.request<HealthReport>(HEALTH_METHOD, HEALTH_TIMEOUT_MS);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const clientProblem = goExtensionProblem();
    const reported = (report?.problems ?? []).map((p) => ({ ...p, action: ownAction(p.action, this.manifest.section) }));
    const problems: Problem[] = [...reported, ...(clientProblem === undefined ? [] : [clientProblem])];
    return { report, error, problems, generatedAt: new Date() };
  }

  private async onMessage(message: { fix?: number; command?: string }): Promise<void> {
    if (message.command === "refresh") {
      await this.refresh();
    } else if (message.command === "copyReport") {
      await this.copyReport();
    } else if (message.command === "showLog") {
      this.commands.showLog();
    } else if (message.fix !== undefined) {
      const problem = this.page?.problems[message.fix];
      if (problem !== undefined && (await applyFix(problem, this.manifest.section, vscodeFixEditor))) {
        await this.refresh();
      }
    }
  }

  private async copyReport(): Promise<void> {
    const config = vscode.workspace.getConfiguration(this.manifest.section);
    const markdown = reportMarkdown(this.page?.report, this.page?.problems ?? [], {
      extensionVersion: this.manifest.version,
      vscodeVersion: vscode.version,
      section: this.manifest.section,
      settings: Object.fromEntries(REPORTED_SETTINGS.map((key) => [key, config.get(key)])),
    });
    await vscode.env.clipboard.writeText(markdown);
    void vscode.window.showInformationMessage("The health report is on the clipboard, as Markdown.");
  }
}
