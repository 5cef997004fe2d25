/**
 * The studio's HTTP basics: errors that become 4xx JSON answers (never a stack trace), JSON replies,
 * and request bodies read with a size limit.
 *
 * @example
 *   import { createServer } from "node:http";
 *   createServer(async (req, res) => {
 *     const body = await readJsonBody(req, 64 * 1024); // 413 past the limit, 400 for malformed JSON
 *     if (body.run === undefined) throw new HttpError(400, '"run" is missing'); // answered as {"error": ...}
 *     sendJson(res, 200, body);
 *   });
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * An error whose status and one-line message the client sees; `field` names a form field it is about,
 * `errors` every field's error when a form had several.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly errors?: { field: string; error: string }[],
  ) {
    super(message);
  }
}

/** The largest request body accepted (a form or a text to fill in is far smaller). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Answers with `value` as JSON. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  res.end(body);
}

/** Reads the body as a JSON object: 413 past `limit` bytes, 415 unless JSON, 400 when malformed. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, "the body must be JSON (Content-Type: application/json)");
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new HttpError(400, "the body must be a JSON object");
  return value as Record<string, unknown>;
}

/** `body[key]` as a string, or a 400 naming the key. */
export function stringField(body: Record<string, unknown>, key: string, options: { optional?: boolean } = {}): string {
  const v = body[key];
  if (v === undefined && options.optional) return "";
  if (typeof v !== "string") throw new HttpError(400, `"${key}" must be a string`, key);
  return v;
}
