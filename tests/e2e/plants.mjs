// The hostile side of the Restricted Mode scenario: a workspace full of plants
// (tests/e2e/planted.py writes them, so that its pytest controls plant the same) and a
// localhost listener that records every connection a planted setting would cause.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";

/** Plants into `workspace`; a plant that runs leaves a file named after it in `markers`. */
export function plantWorkspace(root, workspace, markers, listenerPort) {
  const python = path.join(root, ".venv/bin/python");
  const result = spawnSync(python, ["-m", "tests.e2e.planted", workspace, markers, String(listenerPort)], {
    cwd: root, encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`planting failed (${result.status ?? result.signal}): ${result.stderr}`);
  }
  return { ran: () => readdirSync(markers) };
}

/** A TCP listener on 127.0.0.1 that closes every connection and remembers it. */
export function startListener() {
  return new Promise((resolve, reject) => {
    const connections = [];
    const server = createServer((socket) => {
      connections.push(`${socket.remoteAddress}:${socket.remotePort}`);
      socket.destroy();
    });
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({ port: server.address().port, connections, close: () => server.close() });
    });
  });
}
