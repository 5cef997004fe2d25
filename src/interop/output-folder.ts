/**
 * Where an export or an import may write its folder: never onto what it reads, never into a run's
 * checkpoints, never over an existing folder unless asked. `checkOutputFolder` refuses, in one line
 * naming both paths:
 *
 *   - an output that is one of the inputs, contains one, or lies inside one (an export of
 *     runs/a into runs/a/best, an import of trained/ into trained/ or its parent);
 *   - an output inside the checkpoint folder of any run directory (best/, last-<step>/, or the
 *     temporary and aside copies of their atomic writes), whose next swap would delete it;
 *   - an output that is a file, or a run directory when the writer is not an import;
 *   - an existing output folder, whatever it holds, without `force`.
 *
 * Paths are compared as the storage resolves them (on Node: absolute, "." and ".." removed); the
 * command line resolves symbolic links before (src/cli/output-path.ts).
 *
 * @example
 *   await checkOutputFolder("exported", [{ path: "runs/a", what: "the run exported" }], { force: false });
 */
import { platform, type Storage } from "../platform/index.js";
import { isLastCheckpointName, RUN_FILES } from "../run/index.js";

/** A refused output folder: a bad --out, which the command line reports as a usage error. */
export class OutputFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputFolderError";
  }
}

/** An input of the command: its path and what it is, for messages ("the run exported"). */
export interface OutputInput {
  path: string;
  what: string;
}

export interface OutputFolderOptions {
  /** Replace an existing folder (an export) or the run in it (an import). */
  force: boolean;
  /** The output is a run directory to be (an import): an existing run there is replaced with `force`. */
  run?: boolean;
  storage?: Storage;
}

/** The name of a checkpoint folder of a run, or of a copy made while swapping one in. */
function isCheckpointFolderName(name: string): boolean {
  const base = name.replace(/\.(tmp|old)-.*$/, "");
  return base === RUN_FILES.best || isLastCheckpointName(base);
}

/** Whether `inner` is `outer` or lies inside it (both resolved). */
function within(storage: Storage, inner: string, outer: string): boolean {
  for (let at = inner; ; at = storage.path.dirname(at)) {
    if (at === outer) return true;
    if (storage.path.dirname(at) === at) return false;
  }
}

/** Whether folder `dir` holds a run: its config.json and a checkpoint, metrics, status or lock. */
async function isRunDirectory(storage: Storage, dir: string): Promise<boolean> {
  const names = await storage.list(dir);
  if (!names.includes(RUN_FILES.config)) return false;
  const signs: string[] = [RUN_FILES.metrics, RUN_FILES.status, RUN_FILES.lock];
  return names.some((n) => signs.includes(n) || isCheckpointFolderName(n));
}

/** The inputs of an export: the folder given, the checkpoint read and the run it belongs to. */
export function exportInputs(given: string, src: { checkpointDir: string; runDir: string | null }): OutputInput[] {
  return [
    { path: given, what: "the folder exported" },
    { path: src.checkpointDir, what: "the checkpoint exported" },
    ...(src.runDir === null ? [] : [{ path: src.runDir, what: "the run exported" }]),
  ];
}

/** Throws an OutputFolderError when `out` may not be written (see the module comment). */
export async function checkOutputFolder(
  out: string,
  inputs: readonly OutputInput[],
  options: OutputFolderOptions,
): Promise<void> {
  const storage = options.storage ?? platform().storage;
  const { path } = storage;
  const target = path.resolve(out);
  // "is" first: an output that is the checkpoint also lies inside the run; the closer name is clearer.
  const relations = [
    ["is", (source: string) => target === source],
    ["contains", (source: string) => within(storage, source, target)],
    ["lies inside", (source: string) => within(storage, target, source)],
  ] as const;
  for (const [relation, holds] of relations) {
    const input = inputs.find((i) => holds(path.resolve(i.path)));
    if (input !== undefined)
      throw new OutputFolderError(
        `--out ${out} ${relation} ${input.what} (${input.path}): writing there would destroy it; choose another folder`,
      );
  }
  for (let at = target; path.dirname(at) !== at; at = path.dirname(at)) {
    if (
      isCheckpointFolderName(path.basename(at)) &&
      (await storage.stat(path.join(path.dirname(at), RUN_FILES.config))) !== null
    )
      throw new OutputFolderError(
        `--out ${out} lies inside ${at}, a checkpoint folder of run ${path.dirname(at)}, which its next save replaces; choose another folder`,
      );
  }
  const info = await storage.stat(target);
  if (info === null) return;
  if (info.kind !== "directory") throw new OutputFolderError(`--out ${out} is a file; expected a folder to write`);
  if (!options.run && (await isRunDirectory(storage, target)))
    throw new OutputFolderError(
      `--out ${out} is a run directory; an export there would destroy the run; choose another folder`,
    );
  if (!options.force)
    throw new OutputFolderError(
      options.run
        ? `--out ${out} already exists; import into a new folder, or give --force to replace the run in it`
        : `--out ${out} already exists; choose a new folder, or give --force to replace it and everything in it`,
    );
}
