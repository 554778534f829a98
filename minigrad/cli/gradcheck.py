"""``minigrad gradcheck``: gradient checks over every op and layer, as a pass/fail table."""
from __future__ import annotations

import os
import time

from .common import EPILOG_COMMON, Formatter, add_common, check_device, run_folder, say

DESCRIPTION = """\
Check the analytic gradient of every differentiable op of minigrad.ops and every layer of
minigrad.nn against central finite differences in float64 (minigrad.gradcheck), on inputs
drawn away from kinks and ties, and print a pass/fail table with the worst relative and
absolute error of each. With --second-order, also check second derivatives
(minigrad.gradgradcheck). With --details, print each case's full report (one line per
input and parameter: shape, worst errors, the worst element with both gradients). Writes
gradcheck.md and gradcheck.json (every report, per input); exits with status 1 when a
check fails.

examples:
  minigrad gradcheck
  minigrad gradcheck --filter conv
  minigrad gradcheck --filter batchnorm2d --details
  minigrad gradcheck --kind layer --second-order
"""


def add_parser(sub):
    p = sub.add_parser("gradcheck", help="gradient checks over every op and layer",
                       description=DESCRIPTION, formatter_class=Formatter,
                       epilog=EPILOG_COMMON)
    p.add_argument("--filter", default=None, help="only cases whose name contains this text")
    p.add_argument("--kind", choices=("op", "layer"), default=None, help="only ops or layers")
    p.add_argument("--second-order", action="store_true", help="also run gradgradcheck")
    p.add_argument("--details", action="store_true",
                   help="print every case's report, per input and parameter")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    add_common(p, name_default="gradcheck")
    return p


def run(args):
    from ..gradcheck_catalog import CASES, format_table, run_catalog
    from ..train.callbacks import write_atomic, write_json
    from .common import CLIError

    check_device(args.device)
    cases = [c for c in CASES if (args.kind is None or c.kind == args.kind)
             and (not args.filter or args.filter.lower() in c.name.lower())]
    if args.list:
        for c in cases:
            say(f"{c.kind:5s}  {c.name}")
        return 0
    if not cases:
        raise CLIError(f"--filter {args.filter!r}: no case matches")
    folder = run_folder(args.out, args.name, fresh=False)
    bar = None
    if not args.no_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(cases), desc="gradcheck", leave=False)
    start = time.perf_counter()
    results = run_catalog(cases, seed=args.seed, second_order=args.second_order,
                          progress=None if bar is None else (lambda r: bar.update(1)))
    if bar is not None:
        bar.close()
    table = format_table(results)
    failed = [r for r in results if r.passed is False or r.gradgrad is False]
    skipped = [r for r in results if r.passed is None]
    shown = results if args.details else failed
    lines = [table, ""]
    for r in shown:
        lines += [f"#### {r.name}", "```", _details(r), "```", ""]
    write_atomic(os.path.join(folder, "gradcheck.md"), "\n".join(lines) + "\n")
    write_json(os.path.join(folder, "gradcheck.json"), [r.to_dict() for r in results])
    say(table)
    if args.details:
        for r in results:
            say(f"\n{r.name}:\n{_details(r)}")
    say(f"{len(results) - len(failed) - len(skipped)} passed, {len(failed)} failed, "
        f"{len(skipped)} skipped in {time.perf_counter() - start:.1f}s; wrote {folder}")
    for r in failed:
        say(f"\nFAILED {r.name}:\n{r.message}")
    return 1 if failed else 0


def _details(result):
    """A case's full text: its reports, pass or fail, and why a check could not run."""
    parts = [str(r) for r in (result.report, result.gradgrad_report) if r is not None]
    if result.report is None or (result.gradgrad is False and result.gradgrad_report is None):
        parts.append(result.message)
    return "\n\n".join(parts)
