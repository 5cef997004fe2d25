// The start form: a corpus of the data folder, a run name and the main settings, drawn from the
// configuration table's fields the server sends; the server checks them as the command line does and
// the error appears next to the field it names.
import { ApiError, postJson } from "./api.js";

export interface FormField {
  key: string;
  flag: string;
  kind: string;
  default: number | string | boolean | null;
  min?: number;
  max?: number;
  choices?: string[];
  help: string;
}

/** A labelled input (or select) with an error line under it; returns the label holding both. */
function fieldInput(
  key: string,
  title: string,
  input: HTMLInputElement | HTMLSelectElement,
  help: string,
): HTMLLabelElement {
  const label = document.createElement("label");
  label.title = help;
  input.name = key;
  input.id = `field-${key}`;
  const error = document.createElement("span");
  error.className = "error";
  error.dataset.errorFor = key;
  label.append(title, input, error);
  return label;
}

function select(options: string[], value: string | null): HTMLSelectElement {
  const s = document.createElement("select");
  for (const o of options) s.append(new Option(o, o, false, o === value));
  return s;
}

/** Fills `container` with the form's fields and handles its submission; `started(id)` after a run starts. */
export function setUpTrainForm(
  form: HTMLFormElement,
  container: HTMLElement,
  corpora: string[],
  fields: FormField[],
  started: (id: string) => void,
): void {
  const corpus = fieldInput(
    "corpus",
    "corpus",
    select(corpora, corpora[0] ?? null),
    "a corpus file of the data folder (mlm studio --data)",
  );
  const nameInput = document.createElement("input");
  nameInput.placeholder = "date-time";
  const name = fieldInput("name", "run name", nameInput, "folder of the run under the runs folder");
  container.replaceChildren(corpus, name);
  for (const f of fields) {
    let input: HTMLInputElement | HTMLSelectElement;
    if (f.kind === "choice") input = select(f.choices ?? [], String(f.default));
    else {
      const i = document.createElement("input");
      i.type = "number";
      i.step = f.kind === "int" ? "1" : "any";
      i.placeholder = String(f.default);
      input = i;
    }
    container.append(fieldInput(f.key, f.flag.slice(2), input, f.help));
  }
  const formError = form.querySelector<HTMLElement>("#train-error")!;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll<HTMLElement>("[data-error-for]")) el.textContent = "";
    formError.textContent = "";
    const settings: Record<string, unknown> = {};
    for (const f of fields) {
      const raw = (form.elements.namedItem(f.key) as HTMLInputElement | HTMLSelectElement).value.trim();
      if (raw === "") continue;
      // Numbers go as numbers; what does not parse goes as typed, for the server's check to name.
      settings[f.key] = f.kind === "int" || f.kind === "number" ? (Number.isNaN(Number(raw)) ? raw : Number(raw)) : raw;
    }
    const body = {
      corpus: (form.elements.namedItem("corpus") as HTMLSelectElement).value,
      name: nameInput.value.trim(),
      settings,
    };
    postJson<{ id: string }>("/api/train", body).then(
      (r) => started(r.id),
      (err: unknown) => {
        const field = err instanceof ApiError ? err.field : undefined;
        const target = field === undefined ? null : form.querySelector<HTMLElement>(`[data-error-for="${field}"]`);
        (target ?? formError).textContent = (err as Error).message;
      },
    );
  });
}
