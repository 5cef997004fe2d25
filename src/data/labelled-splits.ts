/**
 * A labelled data set as training and validation examples with class ids: read one file and split it
 * (a seeded fraction), or read a training file and a validation file. The class names come from the
 * training examples (see data/labelled.ts labelNames); a validation label that training never saw is
 * an error naming its file and line.
 */
import { DEFAULT_CONFIG } from "../config/table.js";
import type { FieldTable, ValuesOf } from "../config/fields.js";
import {
  labelIds,
  labelNames,
  readLabelled,
  type LabelledExample,
  type LabelledFile,
  type LabelledReader,
} from "./labelled.js";
import { splitLabelled } from "./labelled-batches.js";

/** The options every command that reads a labelled data set takes (flags of the same names). */
export const LABELLED_DATA_OPTIONS = {
  valid: {
    kind: "path",
    default: null,
    placeholder: "FILE",
    help: "validation examples (same columns); default: a seeded share of DATA (--valid-fraction)",
  },
  validFraction: { kind: "number", default: 0.2, above: 0, max: 0.9, help: "share of DATA held out for validation" },
  dataSeed: { kind: "int", default: DEFAULT_CONFIG.dataSeed, min: 0, help: "seed of the train/validation split" },
  textColumn: {
    kind: "string",
    default: null,
    placeholder: "NAME",
    help: 'text column (default: "sentence", else "text")',
  },
  textPairColumn: {
    kind: "string",
    default: null,
    placeholder: "NAME",
    help: "second text column, for sentence pairs",
  },
  labelColumn: { kind: "string", default: "label", placeholder: "NAME", help: "label column (strings or integers)" },
} as const satisfies FieldTable;

export type LabelledDataOptions = ValuesOf<typeof LABELLED_DATA_OPTIONS>;

/** Both splits, their class ids, and the class names in id order. */
export interface LabelledSplits {
  /** The file(s) read: the training file, and the validation file when one was given. */
  trainFile: LabelledFile;
  validFile: LabelledFile | null;
  train: LabelledExample[];
  valid: LabelledExample[];
  id2label: string[];
  trainLabels: Int32Array;
  validLabels: Int32Array;
}

/**
 * `read` reads each file by its name: from the file system by default, or from memory
 * (labelledFromMemory: a browser tab's files).
 *
 * @example
 *   const s = await readLabelledSplits("data/spam-subjects.tsv", { ...defaultsOf(LABELLED_DATA_OPTIONS) });
 *   // s.id2label = ["ham", "spam"], s.train.length = 3422, s.valid.length = 856
 */
export async function readLabelledSplits(
  data: string,
  o: LabelledDataOptions,
  read: LabelledReader = readLabelled,
): Promise<LabelledSplits> {
  const columns = {
    textColumn: o.textColumn ?? undefined,
    textPairColumn: o.textPairColumn ?? undefined,
    labelColumn: o.labelColumn,
  };
  const trainFile = await read(data, columns);
  const validFile = o.valid === null ? null : await read(o.valid, columns);
  const { train, valid } =
    validFile === null
      ? splitLabelled(trainFile.examples, o.validFraction, o.dataSeed)
      : { train: trainFile.examples, valid: validFile.examples };
  const id2label = labelNames({ ...trainFile, examples: train });
  return {
    trainFile,
    validFile,
    train,
    valid,
    id2label,
    trainLabels: labelIds({ ...trainFile, examples: train }, id2label),
    validLabels: labelIds({ ...(validFile ?? trainFile), examples: valid }, id2label),
  };
}
