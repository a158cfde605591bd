// Bounded restarts: the sidecar is restarted after a crash unless it already crashed
// `maxCrashes` times within `windowMs` (vscode-go and the language client use 5 in 3 min).

export class CrashPolicy {
  private crashTimes: number[] = [];

  constructor(
    readonly maxCrashes: number,
    readonly windowMs: number,
  ) {}

  /** Records a crash at `now`; true when the sidecar should be restarted. */
  recordCrash(now: number): boolean {
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < this.windowMs), now];
    return this.crashTimes.length <= this.maxCrashes;
  }

  get recentCrashes(): number {
    return this.crashTimes.length;
  }

  reset(): void {
    this.crashTimes = [];
  }
}
