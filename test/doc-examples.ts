/**
 * The code examples of the documentation, as text with the line where each starts: the README's
 * library examples (```ts and ```js blocks) and the `@example` blocks of doc comments. The README
 * test lints the first; test/examples.test.ts type-checks both.
 *
 * @example
 *   readmeCodeBlocks("text\n```ts\nconst a = 1;\n```\n"); // [{ code: "const a = 1;\n", line: 3 }]
 *   jsdocExamples("/**\n * @example\n *   f(1);\n *\/"); // [{ code: "f(1);", line: 3 }]
 */

/** A piece of example code and the 1-based line of its first line in the file it comes from. */
export interface CodeBlock {
  code: string;
  line: number;
}

const lineAt = (text: string, index: number): number => text.slice(0, index).split("\n").length;

/** The README's ```ts and ```js blocks: the examples a user copies into a script. */
export function readmeCodeBlocks(markdown: string): CodeBlock[] {
  return [...markdown.matchAll(/^```(?:ts|js)\n([^]*?)^```$/gm)].map((m) => ({
    code: m[1],
    line: lineAt(markdown, m.index + m[0].indexOf("\n") + 1),
  }));
}

/**
 * The `@example` blocks of the `/** ... *\/` comments of a source file: from the text after the tag
 * (on its line or the lines below) to the next tag or the end of the comment, the comment's leading
 * " * " removed and the common indentation too.
 */
export function jsdocExamples(source: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (const comment of source.matchAll(/\/\*\*[^]*?\*\//g)) {
    const lines = comment[0]
      .slice(3, -2)
      .split("\n")
      .map((l) => l.replace(/^\s*\* ?/, ""));
    const first = lineAt(source, comment.index);
    for (let i = 0; i < lines.length; i++) {
      const tag = /^\s*@example\b ?(.*)$/.exec(lines[i]);
      if (tag === null) continue;
      let end = i + 1;
      while (end < lines.length && !/^\s*@\w/.test(lines[end])) end++;
      const body = tag[1].trim() === "" ? lines.slice(i + 1, end) : [tag[1], ...lines.slice(i + 1, end)];
      const start = tag[1].trim() === "" ? i + 1 : i;
      while (body.length > 0 && body[body.length - 1].trim() === "") body.pop();
      const indent = Math.min(...body.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length));
      blocks.push({ code: body.map((l) => l.slice(indent).trimEnd()).join("\n"), line: first + start });
    }
  }
  return blocks;
}
