// The start forms (train: a corpus of the data folder; fine-tune: a pre-trained run and a labelled
// file), a run name and the main settings, drawn from the configuration table's fields the server
// sends; the server checks them as the command line does and each error appears next to its field.
import { ApiError, postJson } from "./api.js";

export interface FormField {
  key: string;
  flag: string;
  kind: string;
  default: number | string | boolean | null;
  min?: number;
  max?: number;
  choices?: string[];
  placeholder?: string;
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

/** A select of `options` (the first chosen), for the fields a form starts with (corpus, run to fine-tune). */
export function choice(options: string[]): HTMLSelectElement {
  return select(options, options[0] ?? null);
}

/** A field a form starts with, before the settings: its key, label, input and help. */
export interface LeadField {
  key: string;
  title: string;
  input: HTMLInputElement | HTMLSelectElement;
  help: string;
}

/** A run name field (empty: the server names the run by date and time). */
export function runNameField(): LeadField {
  const input = document.createElement("input");
  input.placeholder = "date-time";
  return { key: "name", title: "run name", input, help: "folder of the run under the runs folder" };
}

/**
 * Fills `container` with the form's `lead` fields and settings and handles its submission: the body
 * (lead fields by key, `settings`) goes to `endpoint`; every error the server names is shown at once
 * under its field; `started(id)` after a run starts.
 */
export function setUpRunForm(options: {
  form: HTMLFormElement;
  container: HTMLElement;
  errorBox: HTMLElement;
  lead: LeadField[];
  fields: FormField[];
  endpoint: string;
  started: (id: string) => void;
}): void {
  const { form, container, errorBox, lead, fields, endpoint, started } = options;
  const prefix = form.id === "train-form" ? "field" : `${form.id.replace(/-form$/, "")}-field`;
  const labelled = (key: string, title: string, input: HTMLInputElement | HTMLSelectElement, help: string) => {
    const label = fieldInput(key, title, input, help);
    input.id = `${prefix}-${key}`;
    return label;
  };
  container.replaceChildren(...lead.map((f) => labelled(f.key, f.title, f.input, f.help)));
  for (const f of fields) {
    let input: HTMLInputElement | HTMLSelectElement;
    if (f.kind === "choice") input = select(f.choices ?? [], String(f.default));
    else {
      const i = document.createElement("input");
      if (f.kind === "string") i.placeholder = f.placeholder ?? String(f.default ?? "");
      else {
        i.type = "number";
        i.step = f.kind === "int" ? "1" : "any";
        i.placeholder = String(f.default);
      }
      input = i;
    }
    container.append(labelled(f.key, f.flag.slice(2), input, f.help));
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll<HTMLElement>("[data-error-for]")) el.textContent = "";
    errorBox.textContent = "";
    const settings: Record<string, unknown> = {};
    for (const f of fields) {
      const raw = (form.elements.namedItem(f.key) as HTMLInputElement | HTMLSelectElement).value.trim();
      if (raw === "") continue;
      // Numbers go as numbers; what does not parse goes as typed, for the server's check to name.
      settings[f.key] = f.kind === "int" || f.kind === "number" ? (Number.isNaN(Number(raw)) ? raw : Number(raw)) : raw;
    }
    const body: Record<string, unknown> = { settings };
    for (const f of lead) body[f.key] = f.input.value.trim();
    postJson<{ id: string }>(endpoint, body).then(
      (r) => started(r.id),
      (err: unknown) => {
        const errors =
          err instanceof ApiError && err.errors.length > 0
            ? err.errors
            : [{ field: err instanceof ApiError ? err.field : undefined, error: (err as Error).message }];
        for (const { field, error } of errors) {
          const target = field === undefined ? null : form.querySelector<HTMLElement>(`[data-error-for="${field}"]`);
          if (target !== null) target.textContent = error;
          else errorBox.textContent = [errorBox.textContent, error].filter((t) => t !== "").join("; ");
        }
        form.querySelector<HTMLElement>(".error:not(:empty)")?.scrollIntoView({ block: "nearest" });
      },
    );
  });
}
