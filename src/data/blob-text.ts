/**
 * The text of a corpus file picked or fetched in a browser tab, gzip or not: a file starting with the
 * gzip bytes 1f 8b is decompressed on the fly with the Web platform's `DecompressionStream` (also in
 * Node 18+), so a tab can train on a `.txt.gz` as on a `.txt`. Damaged gzip data is a one-line error
 * naming the file and the compressed bytes read when the decompressor gave up.
 *
 * @example
 *   const file = new File([await (await fetch("corpus.txt.gz")).blob()], "corpus.txt.gz"); // or a picked file
 *   const corpus = textCorpus(file.name, await corpusText(file, file.name));
 */

/** The text of `blob` (UTF-8, decompressed when it is gzip). */
export async function corpusText(blob: Blob, name: string): Promise<string> {
  const head = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  if (!(head.length === 2 && head[0] === 0x1f && head[1] === 0x8b)) return blob.text();
  const gunzip = new DecompressionStream("gzip");
  const text = new Response(gunzip.readable).text();
  const writer = gunzip.writable.getWriter();
  const reader = blob.stream().getReader();
  let consumed = 0; // compressed bytes handed to the decompressor
  const feed = async (): Promise<void> => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await writer.write(value);
      consumed += value.length;
    }
    await writer.close();
  };
  try {
    const [, out] = await Promise.all([feed(), text]);
    return out;
  } catch (err) {
    // Node 24's decompressor throws a TypeError with an empty message at a cut end: name it then.
    const why = (err as Error).message || (err as Error).name;
    throw new Error(
      `${name}: corrupt or truncated gzip data, found by byte ${consumed} of ${blob.size} (${why}); expected a valid .gz file`,
    );
  }
}
