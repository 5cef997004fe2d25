// What a terminal shows of the progress bars and the messages printed while they run, replayed
// from the bytes written (carriage return, erase line, newline), and the plain lines elsewhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createProgress, printLine } from "../../src/util/progress.js";

/** A stream that records what is written; `isTTY` decides which reporter createProgress picks. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = {
    isTTY,
    columns: 100,
    text: "",
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

const ERASE_LINE = "\x1b[2K";

/** The lines a terminal displays after receiving `bytes` (only the controls the bars use). */
function screen(bytes: string): string[] {
  const lines = [""];
  let column = 0;
  for (const part of bytes.split(new RegExp(`(\r|\n|${ERASE_LINE.replace("[", "\\[")})`))) {
    const last = lines.length - 1;
    if (part === "\r") column = 0;
    else if (part === ERASE_LINE) lines[last] = " ".repeat(column);
    else if (part === "\n") {
      lines.push("");
      column = 0;
    } else {
      lines[last] = lines[last].slice(0, column) + part + lines[last].slice(column + part.length);
      column += part.length;
    }
  }
  return lines.map((line) => line.trimEnd());
}

test("on a terminal, messages printed during a bar stay above it, in order, and the final bar stays last", () => {
  const tty = fakeStream(true);
  printLine("before", tty);
  const bar = createProgress({ label: "train", total: 60, stream: tty });
  for (let step = 1; step <= 60; step++) {
    if (step % 30 === 0) {
      // An evaluation: its own bar takes the last line, then its messages go above the train bar.
      const evalBar = createProgress({ label: "eval", total: 11, stream: tty });
      for (let i = 1; i <= 11; i++) evalBar.update(i);
      evalBar.stop();
      printLine(`step ${step}: validation loss`, tty);
      printLine(`step ${step}: new best`, tty);
    }
    bar.update(step, `epoch 2/2 loss ${step}`);
  }
  bar.stop();
  printLine("after", tty);
  const lines = screen(tty.text);
  assert.deepEqual(lines.slice(0, 5), [
    "before",
    "step 30: validation loss",
    "step 30: new best",
    "step 60: validation loss",
    "step 60: new best",
  ]);
  assert.match(lines[5], /^train \|█{30}\| 60\/60 100% \| 0s<0s epoch 2\/2 loss 60$/);
  assert.deepEqual(lines.slice(6), ["after", ""]);
  assert.ok(!tty.text.includes("\x1b7") && !tty.text.includes("\x1b8"), "no saved cursor positions to jump back to");
});

test("a bar never wraps: it is cut to the terminal's width", () => {
  const tty = fakeStream(true);
  tty.columns = 40;
  const bar = createProgress({ label: "train", total: 10, stream: tty });
  bar.update(10, "a long status text that would not fit on the line");
  bar.stop();
  for (const line of screen(tty.text)) assert.ok(line.length < 40, line);
});

test("elsewhere, plain lines: the final state once, not twice", () => {
  const log = fakeStream(false);
  const bar = createProgress({ label: "train", total: 5, stream: log, logEverySeconds: 0 });
  for (let i = 1; i <= 5; i++) bar.update(i, `loss ${i}`);
  bar.stop();
  bar.stop();
  const lines = log.text.trimEnd().split("\n");
  assert.equal(lines.length, 5);
  assert.match(lines[4], /^train: 5\/5 \(100\.0%\) 0s \| loss 5$/);
  const quiet = fakeStream(false);
  const slow = createProgress({ label: "eval", total: 3, stream: quiet });
  for (let i = 1; i <= 3; i++) slow.update(i);
  slow.stop();
  assert.match(quiet.text, /^eval: 3\/3 \(100\.0%\) 0s\n$/);
  const silent = fakeStream(true);
  createProgress({ label: "x", total: 1, stream: silent, silent: true }).stop();
  assert.equal(silent.text, "");
});

test("elsewhere too, a resumed count's ETA comes from the rate since its first update, not from 0", () => {
  const log = fakeStream(false);
  // A run resumed at step 1000 of 2000: 10 steps in ~50 ms leave ~5 s, not the ~0 s of 1010 steps.
  const bar = createProgress({ label: "train", total: 2000, stream: log, logEverySeconds: 0 });
  bar.update(1000);
  const until = Date.now() + 50;
  while (Date.now() < until);
  bar.update(1010);
  const eta = /1010\/2000 .* eta (\d+)s/.exec(log.text);
  assert.ok(eta !== null, log.text);
  assert.ok(Number(eta[1]) >= 4 && Number(eta[1]) <= 30, log.text);
});
