/** Runs a command in this process with stderr captured, as the CLI tests check its one-line messages. */
export async function captureStderr<T>(fn: () => Promise<T>): Promise<{ result: T; text: string }> {
  const original = process.stderr.write.bind(process.stderr);
  let text = "";
  process.stderr.write = (chunk: string | Uint8Array) => {
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  };
  try {
    return { result: await fn(), text };
  } finally {
    process.stderr.write = original;
  }
}
