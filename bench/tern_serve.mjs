// Starts `tern serve` for a benchmark: any free port, stopped when the
// benchmark's process exits (also when a request fails). Resolves to
// { server, port, log } once it listens; log is what it printed so far.
import { spawn } from "node:child_process";

export async function startServer(tern, args) {
    const server = spawn(tern, ["serve", "--port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    process.on("exit", () => server.kill("SIGTERM"));
    let log = "";
    const port = await new Promise((resolve, reject) => {
        server.stderr.on("data", (d) => {
            log += d;
            const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
            if (m) resolve(Number(m[1]));
        });
        server.on("exit", (c) => reject(new Error("tern serve exited " + c + "\n" + log)));
    });
    return { server, port, log };
}
