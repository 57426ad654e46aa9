"""The stylesheet of the HTML report, inlined into the page's head.

Charts and tables take their colours, strokes and alignment from these classes rather than
from attributes on each element: a page of 500 tests repeats them thousands of times.
"""

CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #b42318; --fail-bg: #fdecea; --skip: #6e7781;
  --skip-bg: #eef1f4; --drift: #9a3412; --drift-bg: #fff1e0; --series: #3b6fb6; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 24px 40px; color: var(--ink); background: #f6f8fa;
  font: 14px/1.45 system-ui, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 10px; display: flex; flex-wrap: wrap; gap: 8px; }
code, .overview td:first-child, .drift td:first-child {
  font: 13px/1.3 ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta span + span::before { content: " \\00b7  "; }
.cards, .stats, .charts { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 18px; }
.cards div { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; min-width: 120px; }
dt, .cards dd.sub, figcaption { color: var(--muted); font-size: 12px; font-weight: 400; }
dd { margin: 0; font-weight: 600; }
.cards dd { font-size: 18px; }
.summary, .overview, section.test { background: #fff; border: 1px solid var(--line);
  border-radius: 8px; padding: 12px 18px; margin: 0 0 16px; }
.summary.drifted { border-color: #f0b27a; background: var(--drift-bg); }
.summary ul { margin: 6px 0 0; padding-left: 20px; }
.summary details { margin: 6px 0 0; }
.summary h2 { margin: 0 0 6px; }
.summary p { margin: 4px 0; }
.summary table { margin: 6px 0; }
.summary.problems, ul.warn { color: var(--fail); }
ul.warn { margin: 6px 0; padding-left: 20px; }
.summary a, .overview a { color: inherit; }
section.test { border-left-width: 5px; }
section.test.drifted { border-left-color: #e8973a; }
section.test.failed { border-left-color: var(--fail); }
section.test.plain { padding: 6px 18px; margin: 0 0 6px; }
summary { cursor: pointer; }
summary h2 { display: inline-flex; margin: 0; }
details[open] summary { margin: 0 0 10px; }
.badge { font-size: 11px; font-weight: 700; letter-spacing: .04em; border-radius: 10px;
  padding: 1px 9px; border: 1px solid currentColor; }
.badge.passed, .badge.xpassed { color: var(--pass); background: var(--pass-bg); }
.badge.failed, .badge.error, .badge.crashed, .badge.interrupted {
  color: var(--fail); background: var(--fail-bg); }
.badge.skipped, .badge.xfailed, .badge.other { color: var(--skip); background: var(--skip-bg); }
.badge.drift { color: var(--drift); background: var(--drift-bg); }
.stats { gap: 4px 22px; margin: 0 0 10px; }
.charts { gap: 12px; margin: 6px 0 10px; }
figure { margin: 0; border: 1px solid #e6eaef; border-radius: 6px; padding: 6px 8px 2px; }
figcaption b { color: var(--ink); }
figcaption small { display: block; font-size: 11px; }
svg.chart { width: 256px; height: 140px; }
svg.spark { width: 120px; height: 30px; margin: 2px 0; }
svg text { font: 10px system-ui, "Liberation Sans", "DejaVu Sans", sans-serif; fill: #59636e; }
svg .end, svg .baseline-label { text-anchor: end; }
svg .mid { text-anchor: middle; }
svg path, svg polyline { fill: none; }
svg .axis, svg .tick { stroke: #c3ccd5; }
svg .line { stroke: var(--series); stroke-width: 2; }
svg.spark .line { stroke-width: 1.5; stroke-linecap: round; stroke-linejoin: round; }
svg circle { fill: var(--series); }
svg .now { fill: #fff; stroke: var(--ink); stroke-width: 2.5; }
svg.spark .now { stroke-width: 1.5; }
svg .now.flagged { stroke: var(--fail); }
svg .baseline { stroke: var(--drift); stroke-width: 1.5; stroke-dasharray: 5 4; }
svg text.baseline-label { fill: var(--drift); }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #eef1f4; }
th { color: var(--muted); }
td { font-variant-numeric: tabular-nums; }
.overview table { width: 100%; }
.overview thead th { position: sticky; top: 0; background: #fff; }
.overview tr.drifted td { background: var(--drift-bg); }
.overview tr.failed td { background: var(--fail-bg); }
.overview .flag, tr.flagged td { color: var(--drift); font-weight: 600; }
.none { color: var(--muted); font-style: italic; }
pre.failure { margin: 0 0 10px; padding: 8px 10px; border-radius: 6px; background: var(--fail-bg);
  font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; }
"""
