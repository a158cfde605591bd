// Runs a process to completion with a time limit, handing each output line to a callback.
import { spawn } from "node:child_process";

export interface RunResult {
  code: number | null;
  output: string;
}

export function runProcess(
  command: string,
  args: readonly string[],
  options: { timeoutMs: number; onLine?: (line: string) => void; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    let partial = "";
    const collect = (chunk: Buffer): void => {
      const pieces = (partial + chunk.toString("utf8")).split("\n");
      partial = pieces.pop() ?? "";
      for (const line of pieces) {
        lines.push(line);
        options.onLine?.(line);
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (partial !== "") {
        lines.push(partial);
      }
      resolve({ code, output: lines.join("\n") });
    });
  });
}
