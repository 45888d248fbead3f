// What the tern serve tests share: starting a server on a free port of
// 127.0.0.1 and stopping it, and requests to it.
import { spawn } from "node:child_process";

// Runs `tern serve -m MODEL --port 0 ...args`; resolves with the process once it
// listens (proc.port; proc.log() is its stderr so far), rejects if it exits
// first or says nothing within a minute.
export function serve(tern, model, args = []) {
    return new Promise((resolve, reject) => {
        const proc = spawn(tern, ["serve", "-m", model, "--port", "0", ...args]);
        let log = "";
        const timer = setTimeout(() => reject(new Error("no 'listening' line:\n" + log)), 60000);
        proc.stderr.on("data", (d) => {
            log += d;
            const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
            if (m && !proc.port) {
                proc.port = Number(m[1]);
                clearTimeout(timer);
                resolve(proc);
            }
        });
        proc.on("exit", (code) => reject(new Error(`tern serve exited with ${code}:\n${log}`)));
        proc.log = () => log;
    });
}

// Sends the signal; resolves with how the process exited ({code, sig}).
export const stopped = (proc, signal = "SIGTERM") =>
    new Promise((resolve) => {
        proc.removeAllListeners("exit");
        proc.on("exit", (code, sig) => resolve({ code, sig }));
        proc.kill(signal);
    });

export const base = (proc) => `http://127.0.0.1:${proc.port}`;

export const post = (proc, path, body, headers = {}) =>
    fetch(base(proc) + path, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
    });
