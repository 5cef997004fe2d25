/**
 * `mlm studio`: watch, compare and use runs in the browser.
 *
 *   mlm studio                  serves runs/ at http://127.0.0.1:<free port>/?token=...
 *   mlm studio runs --port 8080 --data data --open
 *
 * It runs until Ctrl-C (or SIGTERM), which also stops the training jobs it started (each gets one
 * SIGINT and saves a checkpoint; the studio waits --save-wait seconds for them, then names the runs
 * still saving and exits with 1).
 */
import { spawn } from "node:child_process";
import { parseFlags, type FieldTable } from "../config/index.js";
import { startStudio } from "../studio/server.js";
import { commandHelp, UsageError } from "./flags.js";

const STUDIO_FLAGS = {
  host: {
    kind: "string",
    default: "127.0.0.1",
    help: "address to listen on (another than 127.0.0.1 exposes the runs to the network)",
  },
  port: { kind: "int", default: 0, min: 0, max: 65535, help: "port to listen on (0: a free one)" },
  data: { kind: "path", default: "data", placeholder: "DIR", help: "folder of the corpora the start form offers" },
  open: { kind: "boolean", default: false, help: "open the page in the default browser" },
  saveWait: {
    kind: "int",
    default: 60,
    min: 0,
    max: 86400,
    placeholder: "SECONDS",
    help: "on Ctrl-C, how long to wait for the training jobs to save their checkpoints",
  },
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm studio [RUNS_DIR] [options]

Serves a local web page over the runs under RUNS_DIR (default runs/): their status and figures,
their curves (live while they train), fill-mask and tokenizer boxes, and a form that starts and stops
training runs. Prints the page's address with its access token; only requests carrying the token
are answered.`,
  STUDIO_FLAGS,
);

/**
 * Opens `url` in the desktop's browser; resolves with why it could not (no display, the opener missing
 * or failing), or null. Without a display xdg-open fails with nothing on the screen, so say it first.
 */
function openInBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (process.platform === "linux" && !env.DISPLAY && !env.WAYLAND_DISPLAY)
    return Promise.resolve("there is no display (DISPLAY and WAYLAND_DISPLAY are unset)");
  const [cmd, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: "ignore", detached: true });
    child.on("error", (error: NodeJS.ErrnoException) =>
      done(`${cmd} could not be run (${error.code ?? error.message})`),
    );
    child.on("exit", (code) => done(code === 0 ? null : `${cmd} exited with ${code ?? "a signal"}`));
    child.unref();
  });
}

/** Runs `mlm studio` until a signal; `write` receives the output (stdout by default). */
export async function studioCommand(
  argv: string[],
  write: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const parsed = parseFlags(STUDIO_FLAGS, argv, { positionals: true, command: "mlm studio" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1)
    throw new UsageError(`expected at most one runs folder, got ${positionals.length} (see mlm studio --help)`);
  const studio = await startStudio({
    runsDir: positionals[0] ?? "runs",
    dataDir: values.data,
    host: values.host,
    port: values.port,
    stopWaitMs: values.saveWait * 1000,
  });
  write(`mlm studio: serving ${positionals[0] ?? "runs"} at\n  ${studio.url}\n(Ctrl-C stops it)\n`);
  if (values.open)
    void openInBrowser(studio.url).then((why) => {
      if (why !== null) process.stderr.write(`mlm studio: cannot open a browser: ${why}; open the address above\n`);
    });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(s, () => resolve(s));
  });
  write(`mlm studio: ${signal}, stopping\n`);
  const stillSaving = await studio.close();
  if (stillSaving.length > 0) {
    process.stderr.write(
      `mlm studio: after ${values.saveWait} s, still saving: ${stillSaving.join(", ")}; they finish alone (mlm runs shows when)\n`,
    );
    return 1;
  }
  return 0;
}
