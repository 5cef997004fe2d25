/**
 * The curves of the run the tab trains, drawn by the studio's charts (web/studio/charts.ts: one chart
 * per figure, the run in its studio colour, log axes, hover readout, PNG/SVG/CSV): its metrics.jsonl
 * as read when a resume starts or a run is chosen in the list, then each record the worker forwards,
 * redrawn once per frame. The charts are hidden until there is a run to draw.
 */
import { Charts } from "../studio/charts.js";
import { addLines, emptyCurves, type RunCurves } from "../studio/metrics-store.js";
import { colorOf } from "../studio/run-colors.js";

export class TabCurves {
  private readonly curves = new Map<string, RunCurves>();
  private readonly charts: Charts;
  private run: string | null = null;
  private pending = false;

  constructor(private readonly container: HTMLElement) {
    this.charts = new Charts(container, this.curves, colorOf);
    container.hidden = true;
  }

  /** The run drawn, or null before any. */
  get shown(): string | null {
    return this.run;
  }

  /** Starts the curves of run `id` afresh. */
  reset(id: string): void {
    this.curves.clear();
    this.curves.set(id, emptyCurves());
    this.run = id;
    if (this.container.hidden) {
      this.container.hidden = false;
      dispatchEvent(new Event("resize")); // the charts built while hidden take the page's width
    }
    this.schedule();
  }

  /** Adds metrics.jsonl lines (the run's file, or one record the worker forwarded). */
  addText(text: string): void {
    const curves = this.run === null ? undefined : this.curves.get(this.run);
    if (curves !== undefined && addLines(curves, text)) this.schedule();
  }

  /** How many points the charts draw (what the tests watch grow). */
  points(): number {
    return this.charts.points();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  private draw(): void {
    this.charts.render(this.run === null ? [] : [this.run], { x: "step", smoothing: 0 });
  }
}
