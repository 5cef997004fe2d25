/**
 * `mlm studio`: watch, compare and use runs in the browser.
 *
 *   mlm studio                  serves runs/ at http://127.0.0.1:<free port>/?token=...
 *   mlm studio runs --port 8080 --data data --open
 *
 * It runs until Ctrl-C (or SIGTERM), which also stops the training jobs it started (they save a
 * checkpoint first).
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
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm studio [RUNS_DIR] [options]

Serves a local web page over the runs under RUNS_DIR (default runs/): their status and figures,
their curves (live while they train), fill-mask and tokenizer boxes, and a form that starts and stops
training runs. Prints the page's address with its access token; only requests carrying the token
are answered.`,
  STUDIO_FLAGS,
);

/** The command that opens a URL in the desktop's browser. */
function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  const child = spawn(cmd, args, { stdio: "ignore", detached: true });
  child.on("error", () =>
    process.stderr.write(`mlm studio: could not open a browser (${cmd}); open the address above\n`),
  );
  child.unref();
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
  });
  write(`mlm studio: serving ${positionals[0] ?? "runs"} at\n  ${studio.url}\n(Ctrl-C stops it)\n`);
  if (values.open) openInBrowser(studio.url);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(s, () => resolve(s));
  });
  write(`mlm studio: ${signal}, stopping\n`);
  await studio.close();
  return 0;
}
