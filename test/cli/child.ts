/** `mlm` (or any script) in a child process, for tests that send it signals and read what it says. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Rng } from "../../src/util/rng.js";

/** ".ts" when the tests run from the TypeScript sources, ".js" from dist/. */
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** The path of a module of src/ (e.g. "cli/main"), as this test run loads it. */
export function srcModule(name: string): string {
  return fileURLToPath(new URL(`../../src/${name}${EXT}`, import.meta.url));
}

export interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Resolves with the first match of `pattern` in stderr; rejects when the child exits without one. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Sends `signal` and notes when (see `exited`). */
  kill(signal: NodeJS.Signals): void;
  /** The exit, and the milliseconds from the last `kill` to it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; msAfterKill: number }>;
}

/** Starts `node SCRIPT ARGS` with this process's loader flags (so .ts sources load too), in `env`. */
export function startScript(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: "pipe", env });
  let text = "";
  let out = "";
  let killedAt = 0;
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = text.match(waiters[i].pattern);
      if (m !== null) {
        waiters[i].resolve(m);
        waiters.splice(i, 1);
      }
    }
  };
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    check();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; msAfterKill: number }>((resolve) => {
    child.on("close", (code, signal) => {
      const msAfterKill = performance.now() - killedAt;
      for (const w of waiters.splice(0))
        w.reject(new Error(`exited (code ${code}) before printing ${w.pattern}: ${text.slice(-800)}`));
      resolve({ code, signal, msAfterKill });
    });
  });
  return {
    process: child,
    stderr: () => text,
    stdout: () => out,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve, reject });
        check();
        if (child.exitCode !== null) reject(new Error(`already exited: ${text.slice(-800)}`));
      });
    },
    kill(signal) {
      killedAt = performance.now();
      child.kill(signal);
    },
    exited,
  };
}

/** Starts `mlm ARGS`. */
export function startMlm(args: string[]): Child {
  return startScript(srcModule("cli/main"), args);
}

/**
 * Writes `lines` lines of 8 random lowercase words (3 to 10 letters): almost every word is new, so
 * a BPE tokenizer with a large vocabulary takes seconds to learn them.
 */
export function writeRandomCorpus(dir: string, lines: number, seed = 1): string {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const words: string[] = [];
    for (let w = 0; w < 8; w++) {
      let word = "";
      const n = 3 + rng.int(8);
      for (let k = 0; k < n; k++) word += String.fromCharCode(97 + rng.int(26));
      words.push(word);
    }
    out.push(words.join(" "));
  }
  const path = join(dir, "random.txt");
  writeFileSync(path, out.join("\n") + "\n");
  return path;
}

/** A file URL of a module of src/, for scripts that import it. */
export function srcModuleUrl(name: string): string {
  return pathToFileURL(srcModule(name)).href;
}

/** A temporary folder for one test file, removed with everything in it once the file's tests end. */
export function scratchFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
