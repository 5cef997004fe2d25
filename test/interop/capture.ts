/** Runs an in-process `mlm` command with stdout and stderr captured (the interop tests read both). */

/** The command's exit code and what it wrote to stdout and to stderr. */
export async function captureOutput(
  run: () => Promise<number>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { stdout, stderr } = process;
  const original = [stdout.write, stderr.write] as const;
  const text = { stdout: "", stderr: "" };
  const into = (key: keyof typeof text) =>
    ((chunk: string | Uint8Array): boolean => {
      text[key] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    }) as typeof stdout.write;
  stdout.write = into("stdout");
  stderr.write = into("stderr");
  try {
    return { code: await run(), ...text };
  } finally {
    [stdout.write, stderr.write] = original;
  }
}
