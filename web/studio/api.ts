// The studio server's API as the page uses it. The token comes from the cookie the server set when the
// page was opened with ?token=...; it is also sent as a header while the URL still has it.
import { curveColumnsOfText, decodeCurveColumns, type CurveColumns } from "../../src/run/curve-columns.js";

export interface RunListing {
  id: string;
  /** "fill-mask" (pre-training) or "text-classification" (fine-tuning). */
  task: string;
  recipe: string | null;
  status: string;
  message?: string;
  corpus: string | null;
  settings: Record<string, number | string | null>;
  steps: number;
  bestValidLoss: number | null;
  bestStep: number | null;
  lastTrainLoss: number | null;
  seconds: number;
}

export interface JobInfo {
  running: boolean;
  exitCode: number | null;
  stderr: string;
}

export interface RunDetail {
  id: string;
  config: Record<string, unknown>;
  status: { state: string; step: number; message?: string } | null;
  checkpoints: string[];
}

export interface Info {
  pages: string[];
  /** The runs' ids, known before their figures are read. */
  runs: string[];
  corpora: string[];
  formSettings: string[];
  jobs: Record<string, JobInfo>;
}

export interface Prediction {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

export interface LabelScore {
  label: string;
  score: number;
}

export interface Evaluation {
  step: number;
  loss: number | null;
  accuracy: number | null;
  macroF1: number | null;
  labels: string[];
  /** [true][predicted] counts. */
  matrix: number[][];
}

export interface Tokenized {
  tokens: string[];
  ids: number[];
  offsets: [number, number][];
  unk: boolean[];
}

/** An answer of the API that is not 2xx: its message, and the form field it is about. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field?: string,
    /** Every field's error, when the form had several. */
    readonly errors: { field: string; error: string }[] = [],
  ) {
    super(message);
  }
}

const token = new URLSearchParams(location.search).get("token");
const headers = (): Record<string, string> => (token === null ? {} : { "X-Mlm-Token": token });

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T & {
    error?: string;
    field?: string;
    errors?: { field: string; error: string }[];
  };
  if (!res.ok) throw new ApiError(body.error ?? res.statusText, res.status, body.field, body.errors);
  return body;
}

export async function getJson<T>(path: string): Promise<T> {
  return answer<T>(await fetch(path, { headers: headers() }));
}

export async function postJson<T>(path: string, body: unknown, method = "POST"): Promise<T> {
  return answer<T>(
    await fetch(path, {
      method,
      headers: { ...headers(), "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

/**
 * A run's curves as they are now, as columns (the server reads its metrics.jsonl; see
 * src/run/curve-columns.ts), and the byte offset after the last line they hold, where the stream
 * continues. Twenty runs of 10,000 steps come as 6 MB with nothing to parse instead of 30 MB of lines.
 */
export async function metricsColumns(id: string): Promise<CurveColumns> {
  const res = await fetch(`/api/runs/${encodeURIComponent(id)}/curves`, { headers: headers() });
  if (res.status === 404) return curveColumnsOfText("", 0); // the run went away: nothing to draw
  if (!res.ok) throw new ApiError(`curves of ${id}: ${res.statusText}`, res.status);
  return decodeCurveColumns(new Uint8Array(await res.arrayBuffer()));
}

/** The server-sent events of the runs' metrics from the given byte offsets on (see the server's metrics-stream.ts). */
export function metricsEvents(runs: { id: string; offset: number }[]): EventSource {
  const query = new URLSearchParams(
    runs.flatMap((r) => [
      ["run", r.id],
      ["offset", String(r.offset)],
    ]),
  );
  if (token !== null) query.set("token", token);
  return new EventSource(`/api/metrics?${query}`);
}
