/**
 * What every `mlm` command shares on the command line: its flags are a small table of the same shape
 * as the configuration table, parsed by `parseFlags` (did-you-mean for unknown flags, checked values)
 * and shown by `commandHelp`. A `UsageError` (bad arguments) makes `mlm` exit with 2, any other error
 * with 1, as most command-line tools do.
 */
import { CONFIG_TABLE, helpLines, type Field, type FieldTable } from "../config/index.js";
import { CPU_BACKENDS } from "../engine/create.js";

export { UsageError } from "../config/index.js";

/**
 * A command's --help: its usage and description, then its flags with their defaults.
 *
 * @example
 *   commandHelp("Usage: mlm runs [DIR]\n\nLists runs.", RUNS_FLAGS);
 */
export function commandHelp(text: string, table: FieldTable): string {
  return `${text.trimEnd()}\n\nOptions:\n${helpLines(table, { withHelp: true }).join("\n")}\n`;
}

/** `-m, --model DIR`: the trained model of `mlm fill` and `mlm eval`. */
export const MODEL_FLAG = {
  kind: "path",
  short: "m",
  default: null,
  required: true,
  placeholder: "DIR",
  help: "run directory (uses best/, else the newest last-*/) or a checkpoint directory",
} as const satisfies Field;

/**
 * `--backend` of the commands that run a trained model (fill, eval, classify, embed): the CPU kernels
 * only, since they read logits on the CPU (WebGPU trains: `mlm train --backend webgpu`).
 */
export const INFERENCE_BACKEND_FLAG = {
  ...CONFIG_TABLE.backend,
  choices: CPU_BACKENDS,
  help: "kernels: wasm (fast) or ts (reference)",
} as const satisfies Field;
