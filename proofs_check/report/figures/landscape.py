"""Figure: fraction of random starts reaching the global minimum vs width k, l2 and h1.

Each point is a census (numerics.landscape) from the same starts for both losses, with its
Wilson 95 % interval. By default the figure uses the census the landscape claims gather (k = 6, 8;
k = 8 in quick mode; cached, so no extra cost after `check`); a wider sweep is drawn from the
JSON reports of `sobolev-verify landscape --json`:

    python3 -m proofs_check.report.figures.landscape k4.json k5.json ... --out landscape.png
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from numerics.landscape import wilson_interval


def rows_from_reports(paths: list[str | Path]) -> list[dict[str, Any]]:
    """Per-k rows {k, K, n, l2_global, h1_global} from `landscape --json` reports."""
    rows = []
    for path in paths:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        by_loss = {result["loss"]: result for result in report["results"]}
        if set(by_loss) != {"l2", "h1"}:
            raise ValueError(f"{path}: the report must hold both l2 and h1 (run with --loss l2 h1)")
        rows.append({"k": report["teacher_width"], "K": report["width"],
                     "n": by_loss["l2"]["n_starts"],
                     "l2_global": by_loss["l2"]["counts"]["global"],
                     "h1_global": by_loss["h1"]["counts"]["global"]})
    return sorted(rows, key=lambda row: (row["K"] - row["k"], row["k"]))


def build_landscape(rows: Sequence[Mapping[str, Any]]):
    """Fraction of starts reaching W* per surveyed k: markers with Wilson intervals, no line
    (nothing is measured between surveyed widths)."""
    from proofs_check.report.figures.style import LOSS_STYLE, RC, finish, pyplot

    plt = pyplot()
    styles = {"l2": LOSS_STYLE["l2"], "h1": LOSS_STYLE["h1 expected"]}
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        offsets = sorted({row.get("K", row["k"]) - row["k"] for row in rows})
        for extra in offsets:
            subset = [row for row in rows if row.get("K", row["k"]) - row["k"] == extra]
            for loss, shift in (("l2", -0.1), ("h1", 0.1)):
                ks = [row["k"] + shift for row in subset]
                fractions = [row[f"{loss}_global"] / row["n"] for row in subset]
                intervals = [wilson_interval(row[f"{loss}_global"], row["n"]) for row in subset]
                errors = [[f - low for f, (low, _) in zip(fractions, intervals, strict=True)],
                          [high - f for f, (_, high) in zip(fractions, intervals, strict=True)]]
                width = "K = k" if extra == 0 else f"K = k + {extra}"
                ax.errorbar(ks, fractions, yerr=errors, marker=styles[loss]["marker"],
                            color=styles[loss]["color"], capsize=3, linestyle="none",
                            markerfacecolor="none" if extra else styles[loss]["color"],
                            label=f"{loss}{' (expected field)' if loss == 'h1' else ''}, {width}")
        ks = sorted({row["k"] for row in rows})
        ax.set_xticks(ks)
        ax.set_xlim(min(ks) - 0.6, max(ks) + 0.6)
        ax.set_xlabel("teacher width k (orthonormal teacher W* = I_k, d = k); surveyed k only")
        ax.set_ylabel("fraction of starts reaching W*")
        ax.set_ylim(-0.02, 1.02)
        n = "/".join(str(value) for value in sorted({row["n"] for row in rows}))
        finish(fig, "Gradient descent on the exact population field from the same starts "
                f"(relu, λ = 1; {n} N(0, 1/d) starts per k), Wilson 95 % intervals",
                axes_with_legend=ax, ncol=2)
    return fig


def figure_landscape(path: Path, quick: bool = False,
                     rows: list[dict[str, Any]] | None = None, evidence=None) -> Path:
    """Draw the fraction reaching the global minimum vs k: from ``rows`` (as from
    rows_from_reports), else from the landscape claims' census of this run (``evidence``), else
    from the census they gather (cached)."""
    from proofs_check.report.figures.style import evidence_of, save

    if rows is None:
        census = evidence_of("landscape-h1-global-at-least-as-often", quick, evidence)
        rows = [{**row, "K": row.get("K", row["k"])} for row in census["per_k"]]
    return save(build_landscape(rows), Path(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="JSON reports of `landscape --json`")
    parser.add_argument("--out", default="landscape.png")
    args = parser.parse_args(argv)
    print(figure_landscape(Path(args.out), rows=rows_from_reports(args.reports)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
