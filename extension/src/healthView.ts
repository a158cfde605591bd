// "Go: Health Check": the sidecar's report plus the client's own findings in a webview,
// each problem's fix as a button, the last hour as charts, and "Copy report" as Markdown.
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { disableGoExtensionGopls, goExtensionProblem } from "./goExtension";
import { type FixAction, fixAction, type HealthReport, type Problem } from "./health";
import { type HealthPage, renderHealthPage } from "./healthHtml";
import { REPORTED_SETTINGS, reportMarkdown } from "./healthMarkdown";
import type { Manifest } from "./manifest";
import { HEALTH_METHOD } from "./protocol";
import type { Sidecar } from "./sidecarClient";

const HEALTH_TIMEOUT_MS = 15_000;

export interface HealthActions {
  restartGopls(): Promise<void>;
  showLog(): void;
}

export class HealthView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private fixes: { action: FixAction; fix: string }[] = [];
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
    this.fixes = page.problems.map(({ action, problem }) => ({ action, fix: problem.fix }));
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
    const problems: Problem[] = [...(report?.problems ?? []), ...(clientProblem === undefined ? [] : [clientProblem])];
    return {
      report,
      error,
      problems: problems.map((problem) => ({ problem, action: fixAction(problem.fix, this.manifest.section) })),
      generatedAt: new Date(),
    };
  }

  private async onMessage(message: { fix?: number; command?: string }): Promise<void> {
    if (message.command === "refresh") {
      await this.refresh();
    } else if (message.command === "copyReport") {
      await this.copyReport();
    } else if (message.command === "showLog") {
      this.commands.showLog();
    } else if (message.fix !== undefined) {
      const fix = this.fixes[message.fix];
      if (fix !== undefined) {
        await this.apply(fix.action, fix.fix);
      }
    }
  }

  private async copyReport(): Promise<void> {
    const config = vscode.workspace.getConfiguration(this.manifest.section);
    const markdown = reportMarkdown(this.page?.report, this.page?.problems.map((p) => p.problem) ?? [], {
      extensionVersion: this.manifest.version,
      vscodeVersion: vscode.version,
      section: this.manifest.section,
      settings: Object.fromEntries(REPORTED_SETTINGS.map((key) => [key, config.get(key)])),
    });
    await vscode.env.clipboard.writeText(markdown);
    void vscode.window.showInformationMessage("The health report is on the clipboard, as Markdown.");
  }

  private async apply(action: FixAction, fix: string): Promise<void> {
    switch (action.kind) {
      case "disableGoExtensionGopls":
        await disableGoExtensionGopls();
        break;
      case "openSetting":
        await vscode.commands.executeCommand("workbench.action.openSettings", action.key);
        return;
      case "restartGopls":
        await this.commands.restartGopls();
        break;
      case "copy":
        await vscode.env.clipboard.writeText(fix);
        void vscode.window.showInformationMessage("The fix is on the clipboard.");
        return;
    }
    await this.refresh();
  }
}
