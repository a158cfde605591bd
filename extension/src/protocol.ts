// The sidecar's own LSP methods (see the contract); everything else is gopls's.

/** Request, no params: the health report (health.ts HealthReport). */
export const HEALTH_METHOD = "goSidecar/health";

/** Request, no params: restarts gopls with the editor's state replayed; null when done. */
export const RESTART_GOPLS_METHOD = "goSidecar/restartGopls";
