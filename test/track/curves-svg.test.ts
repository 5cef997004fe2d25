// curves.svg and the text plot of `mlm runs RUN`: points land where their values say, gaps stay gaps,
// and a real run redraws its curves.svg at each evaluation.
import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { lineChartSvg } from "../../src/track/svg-chart.js";
import { textPlot } from "../../src/track/text-plot.js";
import { mlm, TINY_FLAGS, writeTinyCorpus } from "../studio/fixtures.js";
import { tempDir } from "../temp-dir.js";

/** The [x, y] pairs of every path of an SVG. */
const pathPoints = (svg: string): number[][][] =>
  [...svg.matchAll(/<path d="([^"]*)"/g)].map((m) =>
    [...m[1].matchAll(/[ML]([\d.-]+),([\d.-]+)/g)].map((p) => [Number(p[1]), Number(p[2])]),
  );

test("an SVG chart maps the smallest point to the bottom left and the largest to the top right, skipping NaN", () => {
  const svg = lineChartSvg(
    [
      {
        title: "loss <&>",
        series: [
          {
            name: "a",
            color: "#000",
            points: [
              [0, 1],
              [5, Number.NaN],
              [10, 3],
            ],
          },
        ],
      },
    ],
    { width: 200, panelHeight: 100 },
  );
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="200"/);
  assert.match(svg, /loss &lt;&amp;&gt;/);
  const [[first, last, ...rest]] = pathPoints(svg);
  assert.deepEqual(rest, []); // the NaN point is left out
  assert.ok(first[0] < last[0] && first[1] > last[1], `${first} should be left of and below ${last}`);
  assert.deepEqual([first[0], first[1], last[0], last[1]], [56, 72, 188, 24]); // the plot box's corners (margins 56/12/24/28)
});

test("a text plot puts each series' mark where its points are, with the y range and x range labelled", () => {
  const plot = textPlot(
    [
      {
        name: "loss",
        mark: "*",
        points: [
          [0, 2],
          [10, 1],
        ],
      },
      { name: "valid", mark: "o", points: [[10, 2]] },
    ],
    { width: 11, height: 3 },
  );
  assert.equal(
    plot,
    ["2 |*         o", "  |", "1 |          *", "  +-----------", "   0        10", "   * loss   o valid", ""].join(
      "\n",
    ),
  );
});

test("a training run writes curves.svg at each evaluation, and mlm runs RUN draws its losses", () => {
  const dir = tempDir("mlm-curves-");
  writeTinyCorpus(join(dir, "c.txt"));
  const run = join(dir, "run");
  mlm([
    "train",
    join(dir, "c.txt"),
    ...TINY_FLAGS,
    "--max-steps",
    "20",
    "--eval-steps",
    "10",
    "--out-dir",
    run,
    "--cache-dir",
    join(dir, "cache"),
  ]);
  assert.ok(existsSync(join(run, "curves.svg")));
  const paths = pathPoints(readFileSync(join(run, "curves.svg"), "utf8"));
  // Drawn last series first: validation loss (steps 0, 10, 20), training loss (every 5 steps), top-5, top-1.
  assert.deepEqual(
    paths.map((p) => p.length),
    [3, 4, 3, 3],
  );
  const out = mlm(["runs", run]);
  assert.match(out, /\* train loss {3}o valid loss\n$/);
});
