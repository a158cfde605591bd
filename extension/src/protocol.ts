// The sidecar's own LSP methods (served by server/gosidecar/server.py); everything else is gopls's.

/** Request, no params: the health report (health.ts HealthReport). */
export const HEALTH_METHOD = "goSidecar/health";

/** Request, no params: restarts gopls with the editor's state replayed; null when done. */
export const RESTART_GOPLS_METHOD = "goSidecar/restartGopls";

/** The command the sidecar puts on its ghost-text items; VS Code runs it when one is accepted. */
export const INLINE_COMPLETION_ACCEPTED_COMMAND = "goSidecar.inlineCompletionAccepted";

/** Notification, no params: a ghost text was accepted (counted in the health history). */
export const INLINE_COMPLETION_ACCEPTED_METHOD = "goSidecar/inlineCompletionAccepted";
