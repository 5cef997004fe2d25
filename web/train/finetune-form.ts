/**
 * The page's fine-tuning form: a labelled .csv, .tsv or .jsonl file dropped on the page (anywhere) or
 * chosen (and
 * optionally a validation file), the pre-trained run to start from, and the settings of `mlm finetune`,
 * each drawn from its field in the configuration table (or in the labelled-data options) with the
 * command's default. Every bad setting is shown at once, under its field, named as the field is.
 */
import { CONFIG_TABLE, checkValue, flagName, type Field, type TrainConfig } from "../../src/config/index.js";
import { labelledFormatOf } from "../../src/data/labelled.js";
import { LABELLED_DATA_OPTIONS } from "../../src/data/labelled-splits.js";
import { FINETUNE_DEFAULTS, FINETUNE_HEAD_OPTIONS } from "../../src/train/finetune.js";
import type { FinetuneTabSettings } from "./protocol.js";

/** The configuration keys the form offers (the model's shape and tokenizer come from the pre-trained run). */
const CONFIG_KEYS = [
  "maxSteps",
  "epochs",
  "batchSize",
  "learningRate",
  "evalSteps",
  "logSteps",
  "saveSteps",
  "earlyStopping",
  "seed",
  "dataSeed",
  "threads",
] as const satisfies readonly (keyof TrainConfig)[];

/** How the data is read and the head built: `mlm finetune`'s own flags (the validation file is a file input). */
const FINETUNE_FIELDS = {
  ...FINETUNE_HEAD_OPTIONS,
  validFraction: LABELLED_DATA_OPTIONS.validFraction,
  textColumn: LABELLED_DATA_OPTIONS.textColumn,
  textPairColumn: LABELLED_DATA_OPTIONS.textPairColumn,
  labelColumn: LABELLED_DATA_OPTIONS.labelColumn,
} as const;

/** Every field of the form, by key: the table's entry and the value the form starts with. */
const FIELDS: { key: string; field: Field; initial: unknown }[] = [
  ...CONFIG_KEYS.map((key) => ({
    key,
    field: CONFIG_TABLE[key],
    initial: (FINETUNE_DEFAULTS as Partial<TrainConfig>)[key] ?? CONFIG_TABLE[key].default,
  })),
  ...Object.entries(FINETUNE_FIELDS).map(([key, field]) => ({ key, field, initial: field.default })),
];

/** The labelled files chosen so far: the data (dropped or chosen) and an optional validation file. */
export interface ChosenFiles {
  data: File | null;
  valid: File | null;
}

/** Draws the settings into `container` (inputs `#ft-<flag>`); returns what the form holds. */
export function setUpFinetuneForm(container: HTMLElement, drop: HTMLElement, fileInput: HTMLInputElement) {
  container.replaceChildren(
    ...FIELDS.map(({ key, field, initial }) => {
      const label = document.createElement("label");
      label.title = field.help;
      let input: HTMLInputElement | HTMLSelectElement;
      if (field.kind === "choice") {
        input = document.createElement("select");
        for (const c of field.choices) input.append(new Option(c, c, false, c === initial));
      } else {
        const i = document.createElement("input");
        if (field.kind === "int" || field.kind === "number") {
          i.type = "number";
          i.step = field.kind === "int" ? "1" : "any";
        } else i.placeholder = field.placeholder ?? "";
        i.value = initial === null ? "" : String(initial);
        input = i;
      }
      input.id = `ft-${flagName(key)}`;
      input.name = key;
      const error = document.createElement("span");
      error.className = "error";
      error.dataset.errorFor = key;
      label.append(flagName(key), input, error);
      return label;
    }),
  );
  const files: ChosenFiles = { data: null, valid: null };
  const chosen = document.createElement("span");
  chosen.className = "hint";
  chosen.id = "ft-file-name";
  drop.append(chosen);
  const take = (file: File | undefined): void => {
    if (file === undefined) return;
    try {
      labelledFormatOf(file.name);
    } catch (err) {
      chosen.textContent = (err as Error).message;
      return;
    }
    files.data = file;
    chosen.textContent = `${file.name} (${file.size.toLocaleString("en-US")} bytes)`;
  };
  fileInput.addEventListener("change", () => take(fileInput.files?.[0]));
  // A file dropped anywhere on the page is taken: a browser would otherwise open it, leaving the page
  // (and the run it trains).
  addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  addEventListener("dragleave", (e) => {
    if (e.relatedTarget === null) drop.classList.remove("over");
  });
  addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    take(e.dataTransfer?.files[0]);
  });

  /** The settings as the worker takes them, or null after showing each bad field's error under it. */
  function settings(overrides: Record<string, unknown>): FinetuneTabSettings | null {
    const values: Record<string, unknown> = {};
    let bad = false;
    for (const { key, field } of FIELDS) {
      const input = container.querySelector<HTMLInputElement | HTMLSelectElement>(`[name="${key}"]`)!;
      const error = container.querySelector<HTMLElement>(`[data-error-for="${key}"]`)!;
      const raw = input.value.trim();
      const typed = field.kind === "int" || field.kind === "number" ? (raw === "" ? raw : Number(raw)) : raw;
      try {
        // An empty text column is no column (the default), as a flag not given.
        values[key] = field.kind === "string" && raw === "" ? null : checkValue(field, typed, flagName(key));
        error.textContent = "";
      } catch (err) {
        error.textContent = (err as Error).message;
        bad = true;
      }
    }
    if (bad) return null;
    const config = Object.fromEntries(CONFIG_KEYS.map((k) => [k, values[k] as number]));
    const v = values as { [K in keyof typeof FINETUNE_FIELDS]: FinetuneTabSettings[K] };
    return {
      config,
      overrides,
      pooling: v.pooling,
      head: v.head,
      bestMetric: v.bestMetric,
      valid: files.valid?.name ?? null,
      validFraction: v.validFraction,
      textColumn: v.textColumn,
      textPairColumn: v.textPairColumn,
      labelColumn: v.labelColumn,
    };
  }
  return { files, settings };
}
