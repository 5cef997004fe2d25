/**
 * The one training configuration. Every default is the tutorial's value unless its comment says why
 * not. A run's settings come from, in increasing priority: these defaults, a JSON file (`--config`),
 * command-line flags. Unknown keys and bad values are rejected with a message that says what was
 * expected.
 *
 * @example
 *   const config = resolveConfig({ maxSteps: 300 });        // library use
 *   const { config } = parseConfigArgs(["--max-steps", "300", "--pad-to-max"]); // CLI use
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

export interface TrainConfig {
  // ---- data ----
  /** Corpus file (TSV id_it/sent_it/id_en/sent_en, plain text or JSON lines); null = the bundled Tatoeba English. */
  data: string | null;
  /** Corpus format; "auto" decides from the extension and the content. */
  format: "auto" | "tsv" | "txt" | "jsonl";
  /** Field holding the sentence in JSON lines. */
  textField: string;
  /** Fraction of the unique sentences used (the tutorial samples 5% to keep training short). */
  sample: number;
  /** Fraction of the sample used for training; the rest is the validation split. */
  trainFraction: number;
  /** Seed of the sample and of the split (the tutorial's random_state). */
  dataSeed: number;
  /** An existing tokenizer.json; null = train one with the tutorial's recipe on all unique sentences. */
  tokenizer: string | null;
  /** BPE vocabulary size. */
  vocabSize: number;
  /** BPE minimum pair frequency. */
  minFrequency: number;
  /** Longest sequence in tokens, [CLS] and [SEP] included; longer sentences are truncated. */
  maxLen: number;
  /** Where tokenized splits are cached. */
  cacheDir: string;

  // ---- model ----
  dModel: number;
  numLayers: number;
  numHeads: number;
  dFF: number;
  dropout: number;

  // ---- batches and masking ----
  batchSize: number;
  /** Pad every batch to 128 tokens as the tutorial does, instead of to its longest sentence. */
  padToMax: boolean;
  /** Shuffle the training split every epoch (the tutorial's loader does not). */
  shuffle: boolean;
  /** Probability that a non-special token is selected for prediction. */
  maskProb: number;
  /** Of the selected tokens, the fraction replaced by [MASK] (1 = the tutorial; BERT uses 0.8). */
  maskTokenRate: number;
  /** Of the selected tokens, the fraction replaced by a random token (0 = the tutorial; BERT uses 0.1). */
  randomTokenRate: number;
  /** Compute the vocabulary projection at every position, as the tutorial does (slow; same loss). */
  fullHead: boolean;
  /** Compute padding rows too (the tutorial's way) instead of packing the real tokens only. */
  computePadding: boolean;

  // ---- optimisation ----
  learningRate: number;
  /** Global gradient-norm clipping threshold (optax.clip_by_global_norm). */
  gradClip: number;
  beta1: number;
  beta2: number;
  adamEps: number;
  /** AdamW decoupled weight decay on matrices; 0 = plain Adam (the tutorial). */
  weightDecay: number;
  /** Learning-rate schedule after warmup: constant (the tutorial), linear or cosine decay to 0. */
  lrSchedule: "constant" | "linear" | "cosine";
  /** Steps of linear warmup from 0 to learningRate. */
  warmupSteps: number;
  /** Micro-batches whose gradients are summed before one optimizer step. */
  gradAccumSteps: number;

  // ---- loop ----
  epochs: number;
  /** Stop after this many optimizer steps; 0 = run all epochs. */
  maxSteps: number;
  /** Evaluate on the whole validation split every this many steps. */
  evalSteps: number;
  /** Log the training loss every this many steps. */
  logSteps: number;
  /** Also evaluate before the first step (gives the step-0 validation loss). */
  evalAtStart: boolean;
  /** Stop after this many evaluations without improvement; 0 = never. */
  earlyStopping: number;
  /** How many latest checkpoints to keep besides the best one (for --resume); 0 = none. */
  keepLast: number;
  /** Also write the latest checkpoint every this many steps, evaluations aside; 0 = only at evaluations. */
  saveSteps: number;
  /** Also write the latest checkpoint after this many minutes without one; 0 = never by time. */
  saveMinutes: number;
  /** Seed of initialisation, dropout and masking. */
  seed: number;

  // ---- system ----
  /** Run directory; null = runs/<date-time>. */
  outDir: string | null;
  /** Kernel implementation: "wasm" (SIMD, all cores) or "ts" (plain TypeScript reference). */
  backend: "wasm" | "ts";
  /** Worker threads for the kernels; 0 = one per core. */
  threads: number;
  /** Progress bars and log lines on stderr. */
  progress: boolean;
}

type Kind = "number" | "int" | "string" | "boolean" | "path";

interface FieldSpec {
  kind: Kind;
  /** Allowed strings, for enums. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  nullable?: boolean;
  help: string;
}

const FIELDS: { [K in keyof TrainConfig]: FieldSpec } = {
  data: { kind: "path", nullable: true, help: "corpus file (.tsv, .txt, .jsonl); default: bundled Tatoeba English" },
  format: { kind: "string", choices: ["auto", "tsv", "txt", "jsonl"], help: "corpus format" },
  textField: { kind: "string", help: "JSON-lines field holding the text" },
  sample: { kind: "number", above: 0, max: 1, help: "fraction of unique sentences used" },
  trainFraction: { kind: "number", above: 0, max: 1, help: "training share of the sample; the rest validates" },
  dataSeed: { kind: "int", min: 0, help: "seed of sampling and splitting" },
  tokenizer: { kind: "path", nullable: true, help: "existing tokenizer.json (default: train one)" },
  vocabSize: { kind: "int", min: 6, help: "BPE vocabulary size" },
  minFrequency: { kind: "int", min: 0, help: "BPE minimum pair frequency" },
  maxLen: { kind: "int", min: 3, max: 4096, help: "max tokens per sequence incl. [CLS]/[SEP]" },
  cacheDir: { kind: "path", help: "cache of tokenized splits" },
  dModel: { kind: "int", min: 1, help: "model width" },
  numLayers: { kind: "int", min: 1, help: "encoder blocks" },
  numHeads: { kind: "int", min: 1, help: "attention heads (must divide d-model)" },
  dFF: { kind: "int", min: 1, help: "feed-forward width" },
  dropout: { kind: "number", min: 0, max: 0.99, help: "dropout probability" },
  batchSize: { kind: "int", min: 1, help: "sentences per batch" },
  padToMax: { kind: "boolean", help: "pad every batch to max-len (the tutorial's way)" },
  shuffle: { kind: "boolean", help: "shuffle training sentences every epoch" },
  maskProb: { kind: "number", above: 0, max: 1, help: "probability a token is selected for prediction" },
  maskTokenRate: { kind: "number", min: 0, max: 1, help: "selected tokens replaced by [MASK]" },
  randomTokenRate: { kind: "number", min: 0, max: 1, help: "selected tokens replaced by a random token" },
  fullHead: { kind: "boolean", help: "vocabulary projection at every position (tutorial's way)" },
  computePadding: { kind: "boolean", help: "compute padding rows too (tutorial's way)" },
  learningRate: { kind: "number", above: 0, help: "peak learning rate" },
  gradClip: { kind: "number", above: 0, help: "global gradient-norm clip" },
  beta1: { kind: "number", min: 0, max: 0.999999, help: "Adam beta1" },
  beta2: { kind: "number", min: 0, max: 0.999999, help: "Adam beta2" },
  adamEps: { kind: "number", above: 0, help: "Adam epsilon" },
  weightDecay: { kind: "number", min: 0, help: "AdamW weight decay on matrices" },
  lrSchedule: { kind: "string", choices: ["constant", "linear", "cosine"], help: "decay after warmup" },
  warmupSteps: { kind: "int", min: 0, help: "linear warmup steps" },
  gradAccumSteps: { kind: "int", min: 1, help: "micro-batches per optimizer step" },
  epochs: { kind: "int", min: 1, help: "passes over the training split" },
  maxSteps: { kind: "int", min: 0, help: "stop after this many steps (0: no limit)" },
  evalSteps: { kind: "int", min: 1, help: "steps between evaluations" },
  logSteps: { kind: "int", min: 1, help: "steps between training-loss logs" },
  evalAtStart: { kind: "boolean", help: "evaluate once before training" },
  earlyStopping: { kind: "int", min: 0, help: "evaluations without improvement before stopping (0: off)" },
  keepLast: { kind: "int", min: 0, help: "latest checkpoints kept for --resume" },
  saveSteps: { kind: "int", min: 0, help: "steps between latest checkpoints, evaluations aside (0: off)" },
  saveMinutes: { kind: "number", min: 0, help: "minutes without a latest checkpoint before one (0: off)" },
  seed: { kind: "int", min: 0, help: "seed of init, dropout and masks" },
  outDir: { kind: "path", nullable: true, help: "run directory (default runs/<date-time>)" },
  backend: { kind: "string", choices: ["wasm", "ts"], help: "kernels: wasm (fast) or ts (reference)" },
  threads: { kind: "int", min: 0, help: "kernel threads (0: one per core)" },
  progress: { kind: "boolean", help: "progress bars / log lines on stderr" },
};

/** The defaults: the tutorial's values, except where a comment says why not. */
export const DEFAULT_CONFIG: Readonly<TrainConfig> = Object.freeze({
  data: null,
  format: "auto",
  textField: "text",
  sample: 0.05,
  trainFraction: 0.8,
  dataSeed: 42,
  tokenizer: null,
  vocabSize: 25000,
  minFrequency: 2,
  maxLen: 128,
  cacheDir: ".cache/mlm-ts",
  dModel: 128,
  numLayers: 6,
  numHeads: 8,
  dFF: 256,
  dropout: 0.1,
  batchSize: 64,
  padToMax: false, // the tutorial pads to 128; padding to the longest sentence gives the same losses far faster
  shuffle: false,
  maskProb: 0.15,
  maskTokenRate: 1,
  randomTokenRate: 0,
  fullHead: false, // same loss and gradients as the tutorial's full head, a fraction of the work
  computePadding: false, // same results at real tokens; padding rows are skipped
  learningRate: 3e-4,
  gradClip: 1,
  beta1: 0.9,
  beta2: 0.999,
  adamEps: 1e-8,
  weightDecay: 0,
  lrSchedule: "constant",
  warmupSteps: 0,
  gradAccumSteps: 1,
  epochs: 30,
  maxSteps: 0,
  evalSteps: 500,
  logSteps: 200,
  evalAtStart: true,
  earlyStopping: 0,
  keepLast: 1,
  saveSteps: 1000, // not in the tutorial: a kill or a crash loses at most 1,000 steps or 10 minutes
  saveMinutes: 10,
  seed: 0,
  outDir: null,
  backend: "wasm",
  threads: 0,
  progress: true,
});

/** Names of all configuration keys, in declaration order. */
export const CONFIG_KEYS = Object.keys(FIELDS) as (keyof TrainConfig)[];

/** "batchSize" -> "batch-size", "dFF" -> "d-ff". */
export function flagName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z]+)/g, "$1-$2").toLowerCase();
}

/**
 * Checks and completes a partial configuration (from a JSON file or library call).
 * `source` names where the values came from, for error messages.
 */
export function resolveConfig(partial: Record<string, unknown> = {}, source = "configuration"): TrainConfig {
  const config = { ...DEFAULT_CONFIG, ...checkKeys(partial, source) };
  checkConsistency(config, source);
  return config;
}

/** Checks each key and value on its own (unknown keys, types, ranges); undefined values are dropped. */
function checkKeys(partial: Record<string, unknown>, source: string): Partial<TrainConfig> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(partial)) {
    if (!Object.hasOwn(FIELDS, key)) throw new Error(`${source}: unknown key "${key}"${suggest(key)}`);
    if (value !== undefined) out[key] = checkValue(key as keyof TrainConfig, value, source);
  }
  return out;
}

function checkValue(key: keyof TrainConfig, value: unknown, source: string): unknown {
  const spec = FIELDS[key];
  const where = `${source}: ${key}`;
  if (value === null) {
    if (spec.nullable) return null;
    throw new Error(`${where} must not be null`);
  }
  switch (spec.kind) {
    case "boolean":
      if (typeof value !== "boolean") throw new Error(`${where} must be true or false, got ${JSON.stringify(value)}`);
      return value;
    case "string":
    case "path":
      if (typeof value !== "string" || value === "")
        throw new Error(`${where} must be a non-empty string, got ${JSON.stringify(value)}`);
      if (spec.choices && !spec.choices.includes(value)) {
        throw new Error(`${where} must be one of ${spec.choices.join(", ")}, got "${value}"`);
      }
      return value;
    case "number":
    case "int": {
      if (typeof value !== "number" || !Number.isFinite(value))
        throw new Error(`${where} must be a finite number, got ${JSON.stringify(value)}`);
      if (spec.kind === "int" && !Number.isInteger(value)) throw new Error(`${where} must be an integer, got ${value}`);
      if (spec.min !== undefined && value < spec.min) throw new Error(`${where} must be >= ${spec.min}, got ${value}`);
      if (spec.above !== undefined && value <= spec.above)
        throw new Error(`${where} must be > ${spec.above}, got ${value}`);
      if (spec.max !== undefined && value > spec.max) throw new Error(`${where} must be <= ${spec.max}, got ${value}`);
      return value;
    }
  }
}

function checkConsistency(c: TrainConfig, source: string): void {
  if (c.dModel % c.numHeads !== 0)
    throw new Error(`${source}: dModel (${c.dModel}) must be divisible by numHeads (${c.numHeads})`);
  if (c.dModel % 2 !== 0)
    throw new Error(`${source}: dModel (${c.dModel}) must be even for the sinusoidal positional encoding`);
  if (c.maskTokenRate + c.randomTokenRate > 1 + 1e-9) {
    throw new Error(
      `${source}: maskTokenRate + randomTokenRate must be <= 1, got ${c.maskTokenRate} + ${c.randomTokenRate}`,
    );
  }
}

function suggest(key: string): string {
  const lower = key.toLowerCase().replace(/[-_]/g, "");
  const match = CONFIG_KEYS.find((k) => k.toLowerCase() === lower);
  return match ? ` (did you mean "${match}"?)` : "";
}

/** Reads a JSON configuration file; keys are the camelCase names of TrainConfig. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: cannot read configuration file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path}: expected a JSON object of configuration keys`);
  }
  return parsed as Record<string, unknown>;
}

/** Converts a flag's text to the field's type. */
function fromFlag(key: keyof TrainConfig, text: string): unknown {
  const spec = FIELDS[key];
  if (spec.nullable && (text === "none" || text === "null")) return null;
  if (spec.kind === "number" || spec.kind === "int") {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n))
      throw new Error(`--${flagName(key)} expects a number, got "${text}"`);
    return n;
  }
  return text;
}

export interface ParsedArgs {
  config: TrainConfig;
  /** Positional arguments (e.g. the corpus path). */
  positionals: string[];
  /** Values of the extra options a command declared. */
  extra: Record<string, string | boolean | undefined>;
  /** The keys set explicitly, by the JSON file or by flags. */
  given: Partial<TrainConfig>;
}

/**
 * Parses `mlm train`-style arguments: every config key as a kebab-case flag (`--batch-size 32`,
 * booleans as `--shuffle` / `--no-shuffle`), `--config file.json`, plus `extraOptions` of the command.
 */
export function parseConfigArgs(
  argv: string[],
  extraOptions: Record<string, { type: "string" | "boolean"; short?: string }> = {},
): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    ...extraOptions,
  };
  for (const key of CONFIG_KEYS) {
    const flag = flagName(key);
    if (FIELDS[key].kind === "boolean") {
      options[flag] = { type: "boolean" };
      options[`no-${flag}`] = { type: "boolean" };
    } else {
      options[flag] = { type: "string" };
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new Error(`${(err as Error).message.split("\n")[0]} (see --help)`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const fromFile = typeof values.config === "string" ? readConfigFile(values.config) : {};
  // Keys of the file are checked one by one here; combinations only once flags are applied on top.
  const fileConfig = checkKeys(fromFile, typeof values.config === "string" ? values.config : "configuration");
  const fromFlags: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const flag = flagName(key);
    const v = values[flag];
    if (FIELDS[key].kind === "boolean") {
      if (v === true && values[`no-${flag}`] === true) throw new Error(`--${flag} and --no-${flag} both given`);
      if (v === true) fromFlags[key] = true;
      if (values[`no-${flag}`] === true) fromFlags[key] = false;
    } else if (typeof v === "string") {
      fromFlags[key] = fromFlag(key, v);
    }
  }
  const config = resolveConfig({ ...fileConfig, ...fromFlags }, "command line");
  const extra: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(extraOptions)) extra[name] = values[name];
  const given = { ...fromFile, ...fromFlags } as Partial<TrainConfig>;
  return { config, positionals: parsed.positionals, extra, given };
}

/** The flag list for --help, generated from the same table as the parser. */
export function configHelp(): string {
  const lines: string[] = [];
  for (const key of CONFIG_KEYS) {
    const spec = FIELDS[key];
    const def = DEFAULT_CONFIG[key];
    const flag =
      spec.kind === "boolean"
        ? `--[no-]${flagName(key)}`
        : `--${flagName(key)} ${spec.choices ? spec.choices.join("|") : spec.kind === "path" ? "PATH" : "N"}`;
    lines.push(`  ${flag.padEnd(36)} ${spec.help} (default: ${def === null ? "none" : String(def)})`);
  }
  return lines.join("\n");
}
