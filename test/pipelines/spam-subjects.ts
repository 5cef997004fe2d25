/** The bundled labelled data set of the fine-tuning tests (data/spam-subjects.tsv, see data/SOURCE.md). */
import { fileURLToPath } from "node:url";

export function bundledSpamSubjects(): string {
  return fileURLToPath(new URL("../../../data/spam-subjects.tsv", import.meta.url));
}
