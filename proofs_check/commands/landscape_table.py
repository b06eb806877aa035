"""`sobolev-verify landscape-table`: Safran & Shamir's table of spurious minima, rerun, with
Sobolev columns.

For each k of --k (teacher W* = I_k, d = k) and each student width n (n = k; with --overparam
also n = k + 1) the census (numerics.landscape) runs --starts starts under the l2 loss and,
from the same starts, under h1 (expected convention, λ = --sobolev-weight), by default with
Safran & Shamir's protocol (--protocol safran-shamir: N(0, 1/d) starts, plain gradient descent
with step 0.1 on the loss's own field, stop at max_i 2π‖F_i‖ <= 1e-9, at most --max-steps
steps). A start is "bad" when the l2 loss at its endpoint is >= 1e-3 (their rule, for both
losses). Printed and written per (k, n):

* published: bad runs of 1000 in their repository (proofs_check/data/safran_shamir_2018.json);
* l2: this run's bad count, fraction and Wilson 95 % interval, Fisher's exact two-sided test
  of equal bad fractions against the published counts (p), the starts that hit the step cap;
* levels: the published l2 loss levels (4 significant digits) with their published counts,
  each marked with the count of this run's bad l2 endpoints at that level; a level absent here
  is "rare" when, at its published rate c/1000, all starts would miss it with probability
  (1 − c/1000)^starts >= 1 %, else "MISSING" (a disagreement); levels found here and not
  published are listed as "new";
* h1: bad count with Wilson interval, of which stable equilibria of the h1 field
  (spurious_minimum), their h1 loss levels, and McNemar's exact test on the paired outcomes
  (same start bad under l2 only vs under h1 only);
* with --normalised: h1 with step 0.1/(1 + λ) beside it, and how many starts change class.

Resumable: one JSON-lines file per k in --out (k06.jsonl, …), each start appended as it
finishes; rerunning skips finished starts. Each run also writes kNN.outcomes.json, the compact
per-start outcomes the table needs (classes, capped starts, the losses of bad starts; no
points), small enough to keep with a publication. --report-only reads the JSON-lines files, or
the outcomes files where those are absent, and prints (no computation, nothing written). The
table goes to --out/table.txt and table.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from numerics.census_runs import census_resumable, load_finished, run_key
from numerics.landscape import INITIALISATIONS, PROTOCOLS, CensusSettings, wilson_interval
from proofs_check.commands._options import check_output_dir, positive_int
from proofs_check.data import safran_shamir

#: A published level absent here is "MISSING" when, at its published rate, this run's starts
#: would all miss it with probability below this; else "rare".
RARE_ALPHA = 0.01


def k_range(text: str) -> list[int]:
    """"6:20" (inclusive) or "6,8,10" -> sorted k values in [2, 40] (ValueError naming --k)."""
    try:
        if ":" in text:
            low, high = (int(part) for part in text.split(":"))
            values = list(range(low, high + 1))
        else:
            values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a range such as 6:20 or a list such as 6,8,10; got {text!r}") from None
    if not values or min(values) < 2 or max(values) > 40:
        raise argparse.ArgumentTypeError(
            f"values must lie in 2..40 (and a range low:high needs low <= high); got {text!r}")
    return sorted(set(values))


def step_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--step must be a number; got {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= 10):
        raise argparse.ArgumentTypeError(f"--step must be in (0, 10]; got {text!r}")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "landscape-table", help="Safran & Shamir's table of spurious minima, rerun with h1",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    _one_line_errors(parser, "sobolev-verify landscape-table")
    parser.set_defaults(func=run)


def _one_line_errors(parser: argparse.ArgumentParser, prog: str) -> None:
    """Option errors as one line on stderr and exit 2 (no usage block)."""
    def error(message: str):
        print(f"{prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=k_range, required=True,
                        help="teacher sizes: a range 6:20 or a list 6,8,10 (d = k)")
    parser.add_argument("--starts", type=positive_int, required=True,
                        help="starts per (k, n) (the published table used 1000)")
    parser.add_argument("--overparam", action="store_true",
                        help="also n = k + 1 student neurons")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="safran-shamir",
                        help="descent protocol (default safran-shamir; see landscape --help)")
    parser.add_argument("--init", choices=INITIALISATIONS, default="gaussian",
                        help="starts: gaussian N(0, 1/d), uniform U(-1, 1)/sqrt(d), "
                             "xavier_uniform U(±sqrt(6/(d+1)))")
    parser.add_argument("--max-steps", type=positive_int, default=20_000,
                        help="step cap per start (default 20000)")
    parser.add_argument("--sobolev-weight", type=float, default=1.0, help="λ in H = L + λJ")
    parser.add_argument("--normalised", action="store_true",
                        help="also run h1 with step 0.1/(1 + λ) and compare")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    parser.add_argument("--workers", type=positive_int, default=1, help="local processes")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="Dask scheduler address (exclusive with --workers > 1)")
    parser.add_argument("--out", metavar="DIR", required=True,
                        help="folder of the per-k results (k06.jsonl, ...) and the table")
    parser.add_argument("--report-only", action="store_true",
                        help="read --out and print the table; compute and write nothing")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")


def _settings(args, loss: str, normalised: bool = False) -> CensusSettings:
    overrides: dict[str, Any] = {"init": args.init, "max_steps": args.max_steps,
                                 "sobolev_weight": args.sobolev_weight}
    settings = CensusSettings.for_protocol(args.protocol, **overrides)
    if normalised and loss == "h1":
        base = settings.step(loss, 1)
        settings = CensusSettings.for_protocol(
            args.protocol, step_size=base / (1 + args.sobolev_weight), **overrides)
    return settings


def _runs(args, k: int) -> list[tuple[int, str, str, CensusSettings]]:
    """(n, loss, variant, settings) of every census of one k."""
    runs = []
    for n in ([k, k + 1] if args.overparam else [k]):
        runs.append((n, "l2", "l2", _settings(args, "l2")))
        runs.append((n, "h1", "h1", _settings(args, "h1")))
        if args.normalised:
            settings = _settings(args, "h1", normalised=True)
            if settings.step("h1", n) != _settings(args, "h1").step("h1", n):
                runs.append((n, "h1", "h1_normalised", settings))
    return runs


def level_key(value: float) -> str:
    """A loss level to 4 significant digits."""
    return f"{value:.4g}"


#: Loss values within this relative distance of their neighbour are one level (converged
#: endpoints of one level agree to ~1e-12; the margin absorbs starts stopped by the cap).
LEVEL_RTOL = 1e-5


def _clusters(values: list[float]) -> list[list[float]]:
    """Sorted values split into levels (each within LEVEL_RTOL of its neighbour)."""
    clusters: list[list[float]] = []
    for value in sorted(values):
        if clusters and value - clusters[-1][-1] <= LEVEL_RTOL * abs(clusters[-1][-1]):
            clusters[-1].append(value)
        else:
            clusters.append([value])
    return clusters


def _centre(cluster: list[float]) -> float:
    return cluster[len(cluster) // 2]


def _levels(values: list[float]) -> dict[str, int]:
    """Levels of ``values`` (ascending), each shown to 4 significant digits, with counts."""
    counts: dict[str, int] = {}
    for cluster in _clusters(values):
        key = level_key(_centre(cluster))
        counts[key] = counts.get(key, 0) + len(cluster)
    return counts


def _fisher(bad: int, n: int, published_bad: int, published_runs: int) -> float:
    from scipy.stats import fisher_exact

    table = [[bad, n - bad], [published_bad, published_runs - published_bad]]
    return float(fisher_exact(table, alternative="two-sided").pvalue)


def _mcnemar(only_first: int, only_second: int) -> float:
    from scipy.stats import binomtest

    total = only_first + only_second
    return 1.0 if total == 0 else float(binomtest(only_first, total, 0.5).pvalue)


def summarise(k: int, n: int, endpoints: dict[str, dict[int, Any]], starts: int,
              bad_loss: float) -> dict[str, Any]:
    """One row of the table from the endpoints of each variant (by start index)."""
    row: dict[str, Any] = {"k": k, "n": n, "starts": starts}
    published = safran_shamir.experiment(k, n)
    row["published"] = None if published is None else {
        "bad": published["bad"], "runs": published["runs"], "inferred": published["inferred"],
        "levels": [{"loss": level_key(level["loss"]), "count": level["count"]}
                   for level in published["levels"]]}
    bad_sets = {}
    for variant, points in endpoints.items():
        bad = sorted(i for i, e in points.items() if _is_bad(e, bad_loss))
        bad_sets[variant] = set(bad)
        entry: dict[str, Any] = {
            "bad": len(bad), "fraction": len(bad) / starts,
            "wilson95": wilson_interval(len(bad), starts),
            "capped": sum(e.capped for e in points.values()),
            "classes": {cls: sum(e.cls == cls for e in points.values())
                        for cls in ("global", "spurious_minimum", "saddle", "not_converged")},
            "l2_levels": _levels([points[i].l2_loss for i in bad]),
        }
        if variant != "l2":
            stable = [e for e in points.values()
                      if e.cls == "spurious_minimum" and _is_bad(e, bad_loss)]
            entry["stable_equilibria"] = len(stable)
            entry["h1_levels"] = _levels([e.objective for e in stable])
        if variant == "l2" and published is not None:
            entry["fisher_p"] = _fisher(len(bad), starts, published["bad"], published["runs"])
        row[variant] = entry
    if "l2" in bad_sets and "h1" in bad_sets:
        only_l2 = len(bad_sets["l2"] - bad_sets["h1"])
        only_h1 = len(bad_sets["h1"] - bad_sets["l2"])
        row["paired"] = {"bad_only_l2": only_l2, "bad_only_h1": only_h1,
                         "bad_both": len(bad_sets["l2"] & bad_sets["h1"]),
                         "mcnemar_p": _mcnemar(only_l2, only_h1)}
    if "h1_normalised" in bad_sets and "h1" in bad_sets:
        row["normalised_changes"] = len(bad_sets["h1"] ^ bad_sets["h1_normalised"])
    if published is not None and "l2" in row:
        clusters = _clusters([endpoints["l2"][i].l2_loss for i in sorted(bad_sets["l2"])])
        matched: set[int] = set()
        matches = []
        for level, shown in zip(published["levels"], row["published"]["levels"], strict=True):
            hits = [j for j, cluster in enumerate(clusters)
                    if abs(_centre(cluster) - level["loss"]) <= LEVEL_RTOL * level["loss"]]
            matched.update(hits)
            here = sum(len(clusters[j]) for j in hits)
            miss = (1 - level["count"] / published["runs"]) ** starts
            status = "found" if here else "rare" if miss >= RARE_ALPHA else "MISSING"
            matches.append({**shown, "here": here, "status": status})
        row["levels"] = matches
        row["new_levels"] = _levels([value for j, cluster in enumerate(clusters)
                                     if j not in matched for value in cluster])
    return row


def _is_bad(endpoint: Any, bad_loss: float) -> bool:
    return endpoint.l2_loss is not None and endpoint.l2_loss >= bad_loss


OUTCOMES_FORMAT = "sobolev-verify landscape-table outcomes 1"
_CODES = {"global": "g", "spurious_minimum": "m", "saddle": "s", "not_converged": "n"}


def outcomes_record(k: int, runs: list[tuple[int, str, dict[str, Any], dict[int, Any]]],
                    bad_loss: float) -> dict[str, Any]:
    """The compact per-start outcomes of one k (what the table needs, without the points):
    per census its key, the class of every start (g/m/s/n), the capped starts, and the l2 and
    minimised loss of every bad start (exact floats)."""
    out = []
    for n, variant, key, points in runs:
        starts = sorted(points)
        out.append({"n": n, "variant": variant, "key": key, "starts": len(starts),
                    "classes": "".join(_CODES[points[i].cls] for i in starts),
                    "capped": [i for i in starts if points[i].capped],
                    "bad": {str(i): [points[i].l2_loss, points[i].objective]
                            for i in starts if _is_bad(points[i], bad_loss)}})
    return {"format": OUTCOMES_FORMAT, "k": k, "bad_loss": bad_loss, "runs": out}


def outcomes_points(record: dict[str, Any], n: int, variant: str, key: dict[str, Any]
                    ) -> dict[int, Any] | None:
    """Stand-in endpoints (start, cls, capped, l2_loss and objective of bad starts, else None)
    of one census in an outcomes record, or None when the record does not hold it."""
    from types import SimpleNamespace

    classes = {code: cls for cls, code in _CODES.items()}
    for run_ in record["runs"]:
        if run_["n"] == n and run_["variant"] == variant and run_["key"] == key:
            capped = set(run_["capped"])
            return {i: SimpleNamespace(start=i, cls=classes[code], capped=i in capped,
                                       l2_loss=run_["bad"].get(str(i), [None, None])[0],
                                       objective=run_["bad"].get(str(i), [None, None])[1])
                    for i, code in enumerate(run_["classes"])}
    return None


def _interval(entry: dict[str, Any]) -> str:
    low, high = entry["wilson95"]
    return f"{entry['bad']:4d} {entry['fraction']:.3f} [{low:.3f},{high:.3f}]"


def format_table(rows: list[dict[str, Any]], provenance: str) -> str:
    lines = ["Safran & Shamir (2018) vs this census: bad = l2 loss >= 1e-3 at the endpoint; "
             "fractions with Wilson 95 % intervals",
             f"{'k':>3} {'n':>3} {'published':>10} {'l2 bad (this run)':>26} {'Fisher p':>8} "
             f"{'cap':>4} {'h1 bad (same starts)':>26} {'stable':>6} {'l2-only':>7} "
             f"{'h1-only':>7} {'McNemar p':>9}"]
    for row in rows:
        pub = row["published"]
        pub_text = ("-" if pub is None else
                    f"{pub['bad']}/{pub['runs']}" + ("*" if pub["inferred"] else ""))
        l2, h1, paired = row.get("l2"), row.get("h1"), row.get("paired")
        fisher = "-" if l2 is None or "fisher_p" not in l2 else f"{l2['fisher_p']:.3g}"
        cap = 0 if l2 is None else l2["capped"] + (h1["capped"] if h1 else 0)
        lines.append(
            f"{row['k']:3d} {row['n']:3d} {pub_text:>10} "
            f"{_interval(l2) if l2 else '-':>26} {fisher:>8} {cap:4d} "
            f"{_interval(h1) if h1 else '-':>26} "
            f"{h1['stable_equilibria'] if h1 else '-':>6} "
            f"{paired['bad_only_l2'] if paired else '-':>7} "
            f"{paired['bad_only_h1'] if paired else '-':>7} "
            f"{format(paired['mcnemar_p'], '.3g') if paired else '-':>9}")
    lines.append("(* no file in the published repository: 0 bad inferred; cap: starts that "
                 "hit the step cap, l2 + h1)")
    lines.append("")
    lines.append("l2 loss levels (4 significant digits): published count -> this run's count "
                 "(rare: absent here, but missing it had probability >= 1 % at the published "
                 "rate; MISSING: below 1 %)")
    for row in rows:
        if "levels" not in row or (not row["levels"] and not row["new_levels"]):
            continue
        parts = [f"{lv['loss']} {lv['count']}->{lv['here']}"
                 + ("" if lv["status"] == "found" else f" ({lv['status']})")
                 for lv in row["levels"]]
        parts += [f"{key} new ->{count}" for key, count in row["new_levels"].items()]
        lines.append(f"k={row['k']} n={row['n']}: " + ", ".join(parts))
    h1_rows = [row for row in rows if row.get("h1") and row["h1"]["h1_levels"]]
    if h1_rows:
        lines.append("")
        lines.append("h1 stable spurious equilibria: h1 loss levels (4 significant digits) "
                     "-> count")
        for row in h1_rows:
            lines.append(f"k={row['k']} n={row['n']}: " + ", ".join(
                f"{key} ->{count}" for key, count in row["h1"]["h1_levels"].items()))
    normalised = [row for row in rows if "h1_normalised" in row]
    if normalised:
        lines.append("")
        lines.append("h1 with the normalised step 0.1/(1 + λ): bad count, and starts whose "
                     "class (bad or not) differs from step 0.1")
        for row in normalised:
            lines.append(f"k={row['k']} n={row['n']}: {_interval(row['h1_normalised'])}, "
                         f"{row['normalised_changes']} change class")
    lines.append("")
    lines.append(f"({provenance})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {args.seed}")
    if args.scheduler is not None and args.workers > 1:
        raise ValueError(f"--workers {args.workers} and --scheduler are exclusive; drop one")
    try:
        _settings(args, "h1")
    except ValueError as exc:
        raise ValueError(f"--sobolev-weight / --max-steps: {exc}") from None
    out = Path(args.out)
    if args.report_only:
        if not out.is_dir():
            raise ValueError(f"--out {str(out)!r} is not a folder of results (--report-only "
                             "reads it)")
    else:
        check_output_dir(out, "--out")
        try:
            out.mkdir(exist_ok=True)
        except OSError as exc:
            raise ValueError(f"--out {str(out)!r}: cannot create the folder "
                             f"({exc.strerror or exc}); give a writable folder") from None
    rows, wall = [], {}
    connection = contextlib.nullcontext()
    if args.scheduler is not None and not args.report_only:
        from proofs_check.runs.dask_client import dask_client

        connection = dask_client(args.scheduler)
    with connection as client:
        executor = None
        if client is not None:
            from proofs_check.runs.dask_client import DaskMap

            executor = DaskMap(client)
        bad_loss = _settings(args, "l2").bad_loss
        for k in args.k:
            path = out / f"k{k:02d}.jsonl"
            compact = out / f"k{k:02d}.outcomes.json"
            record = (json.loads(compact.read_text(encoding="utf-8"))
                      if args.report_only and not path.exists() and compact.exists() else None)
            if record is not None and record.get("format") != OUTCOMES_FORMAT:
                raise ValueError(f"{str(compact)!r} is not a landscape-table outcomes file")
            by_n: dict[int, dict[str, dict[int, Any]]] = {}
            stored = []
            started = time.monotonic()
            for n, loss, variant, settings in _runs(args, k):
                key = run_key(n, k, k, args.seed, loss, settings)
                if args.report_only and record is not None:
                    points = outcomes_points(record, n, variant, key) or {}
                    points = {i: points[i] for i in range(args.starts) if i in points}
                elif args.report_only:
                    finished = load_finished(path, key) if path.exists() else {}
                    points = {i: finished[i] for i in range(args.starts) if i in finished}
                else:
                    if not args.json:
                        print(f"k={k} n={n} {variant} ...", file=sys.stderr, flush=True)
                    result = census_resumable(n, args.starts, loss, teacher_width=k, dim=k,
                                              seed=args.seed, settings=settings, out=path,
                                              workers=args.workers, executor=executor)
                    points = {e.start: e for e in result.endpoints}
                    stored.append((n, variant, key, points))
                by_n.setdefault(n, {})[variant] = points
            wall[k] = round(time.monotonic() - started, 1)
            if stored:
                _write_atomic(compact, json.dumps(outcomes_record(k, stored, bad_loss),
                                                  allow_nan=False) + "\n")
            for n, variants in by_n.items():
                if any(len(points) < args.starts for points in variants.values()):
                    done = min(len(points) for points in variants.values())
                    rows.append({"k": k, "n": n, "incomplete": f"{done}/{args.starts} starts"})
                    continue
                rows.append(summarise(k, n, variants, args.starts, bad_loss))
    complete = [row for row in rows if "incomplete" not in row]
    l2_settings = _settings(args, "l2")
    provenance = (f"protocol {args.protocol}: {args.init} starts (seed {args.seed}), step "
                  f"{l2_settings.step('l2', 2):g} for l2 and h1 (λ = {args.sobolev_weight:g}, "
                  "expected convention), stop at max_i 2π‖F_i‖ <= "
                  f"{l2_settings.neuron_tol:g} or after {args.max_steps} steps; "
                  f"{args.starts} starts per (k, n); Fisher exact two-sided test vs the "
                  "published counts; McNemar exact test on paired outcomes; published: "
                  f"{safran_shamir.REPOSITORY} Results/ (commit "
                  f"{safran_shamir.load()['source']['commit'][:7]})")
    text = format_table(complete, provenance)
    missing = [row for row in rows if "incomplete" in row]
    if missing:
        text += "\nincomplete: " + ", ".join(f"k={row['k']} n={row['n']} ({row['incomplete']})"
                                             for row in missing)
    report = {"rows": complete, "incomplete": missing, "provenance": provenance,
              "command": None if args.report_only else _command(args)}
    if not args.report_only:
        report["wall_seconds_per_k"] = wall
        _write_atomic(out / "table.json", json.dumps(report, indent=1, allow_nan=False) + "\n")
        _write_atomic(out / "table.txt", text + "\n")
    print(json.dumps(report, indent=1, allow_nan=False) if args.json else text)
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run's numbers (where it ran is left out)."""
    ks = args.k
    spec = f"{ks[0]}:{ks[-1]}" if ks == list(range(ks[0], ks[-1] + 1)) and len(ks) > 1 \
        else ",".join(map(str, ks))
    parts = ["sobolev-verify landscape-table", f"--k {spec}", f"--starts {args.starts}"]
    parts += ["--overparam"] * args.overparam + ["--normalised"] * args.normalised
    defaults = {"protocol": "safran-shamir", "init": "gaussian", "max_steps": 20_000,
                "sobolev_weight": 1.0, "seed": 0}
    for name, default in defaults.items():
        if getattr(args, name) != default:
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    return " ".join(parts + [f"--out {args.out}"])


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` through a temporary file in the same folder."""
    import os
    import tempfile

    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(name, 0o666 & ~umask)  # as a plainly created file (mkstemp makes it 0600)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """Run this command on its own (``python -m proofs_check.commands.landscape_table``)."""
    parser = argparse.ArgumentParser(prog="landscape-table", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    _one_line_errors(parser, "landscape-table")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        print(f"landscape-table: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
