"""Benchmarks of sobolev-verify against the obvious alternatives (run by hand, never in tests).

Thin runner: one module per benchmark (benchmarks/bench_<name>.py, whose docstring states its
target and baseline), registered in BENCHMARKS below.

    python benchmarks/run.py            # full sizes (several minutes on 2 cores)
    python benchmarks/run.py --quick    # reduced sizes, a smoke run (< 1 min)
    python benchmarks/run.py --only dense,flow

Every figure is a ratio against a baseline measured in the same run on the same machine:

  dense      structured vs dense spectrum (h1, exact convention: symmetric) at K = K* = 4,
             d = 2000: speed-up and max |Δλ| / max |λ| (target >= 100x, <= 1e-9).
  large      structured spectrum alone at d = 10^6, against structured at d = 2000 (how the cost
             grows with d; dense would need a (4·10^6)² matrix, 128 TB).
  mc-hessian closed-form Hessian (theory.population_hessian) vs Monte-Carlo Hessian
             (numerics.monte_carlo_hessian) reaching 1e-3 relative Frobenius error
             (target >= 1000x).
             N is doubled from 10^5 within a time budget; if 1e-3 is not reached, the table gives
             the measured ratio at the best error reached (a lower bound) and the N needed
             extrapolated from a log-log fit of error vs N.
  mc-rate    Monte-Carlo samples/s (numerics.monte_carlo, h1, K = K* = 4, d = 100, batch 65536)
             vs rows/s of a plain X @ W.T of the same shape (target >= 0.4).
  flow       numerics.gradient_flow(method="Radau") with the analytic Jacobian vs solve_ivp's
             Radau with its finite-difference Jacobian, same field, tolerances and time span,
             at K·d = 400 (K = 4, d = 100, h1 expected) (target >= 5x).
  memory     tracemalloc peak of numerics.monte_carlo at N = 10^6 and 10^8 (target: flat).
  landscape  the census of `sobolev-verify landscape --width 10 --starts 200 --workers 2` (l2 and
             h1 from the same starts, plus every spurious l2 minimum descended under h1) against
             its own descent done with one theory.population_gradient call per start and step
             (the per-call time times the number of steps the census took, one core);
             target: under 180 s wall on 2 cores.
  mc-span    Monte-Carlo in the span: samples/s at d = 1000 vs d = 10 (target >= 0.5)
             and vs drawing (n, m) normals + one product (target >= 0.5), full-d for reference.
  qmc        randomized QMC vs plain Monte-Carlo: error at equal time ((SE²·time) ratio).
  kappa      condition_number at d = 10^6 vs the whole-spectrum algorithm before it
             (target >= 20x) and at K = 64, d = 1000 (target < 3 s).
  flow-overhead  gradient_flow vs bare solve_ivp, same method/tolerances/span (target <= 1.1x).
  startup    `sobolev-verify --help` wall time (target < 0.3 s) and a 54-point spectra-only
             sweep on 2 workers vs 1 (target >= 1.5x).
  act-quad   closed-form Hessian (theory.population_hessian, h1 expected) vs numerics.quadrature
             Hessian at the same point, per activation (leaky_relu(0.1), gelu, erf, sine), K =
             K* = 3, d = 10, W = W* + 0.1·Z/√d: speed-up and max |Δ| / max |H| (target >= 100x).
  landscape-census  CPU per start-step of the census descent (theory.batched_field, l2) at
             k = 10 and 20 with 200 starts vs a batched PyTorch-autograd peer on the same
             closed-form kernel (target >= 2x; skipped without torch) and vs the census field at
             commit 13828e0 (target >= 3x); per-start cost at 20/200/1000 starts (flat).
  act-large  structured κ of the erf h1 Jacobian at d = 10^6, K = K* = 4 (target < 2 s; the
             relu κ at the same d is timed beside it).
  kappa-wide κ(h1, expected) at K = 256, d = 10^6 computed with peak RSS <= 6 GB in no more
             time than commit 13828e0 at K = 128, d = 10^6; K = 180, d = 2000 computed.
  cond-threads  `cond --width 64 --dim 1000` with default BLAS threads beside two busy CPU
             loops vs OPENBLAS_NUM_THREADS=1 (target <= 1.5x), now and at 13828e0.
  first-call fresh process: import + first gelu κ (K = 4, d = 10) vs import + second call,
             kernel code cache warm (target <= 1.3x; the empty-cache ratio beside it).
  mc-smooth  Monte-Carlo h1 erf (gelu, sine, relu beside it), K = 4, d = 1000: samples/s as a
             fraction of drawing the span samples + one product (target >= 0.4 for erf).
  check-cpu  CPU of `check --no-figures` on the claims of 13828e0 except sgd-*/landscape-*,
             now vs 13828e0 in the same run (target <= 0.5x, same verdicts).

Times are wall-clock (time.perf_counter), best of a few repeats for short operations, one run for
long ones; on a shared machine they carry the noise of other load (printed with the machine).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys

import numpy as np
from common import Row

#: benchmark name -> module in this folder (each has ``run(quick) -> list[Row]``; mc-hessian
#: also takes ``budget``).
BENCHMARKS = {name: "bench_" + name.replace("-", "_") for name in (
    "dense", "large", "mc-hessian", "mc-rate", "flow", "memory", "landscape", "mc-span", "qmc",
    "kappa", "flow-overhead", "startup", "assembly", "act-quad", "act-large", "field",
    "kappa-wide", "cond-threads", "first-call", "mc-smooth", "check-cpu", "landscape-census")}


def machine() -> str:
    blas = ""
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]["name"]
    except Exception:  # older numpy: no dict mode
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
            f"numpy {np.__version__} ({blas}), load average {load:.1f} at start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (smoke run)")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of {list(BENCHMARKS)}")
    parser.add_argument("--mc-budget", type=float, default=120.0,
                        help="seconds allowed for the Monte-Carlo Hessian runs (default 120)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {list(BENCHMARKS)}")
    print(f"machine: {machine()}", flush=True)
    header = Row("figure", "ours", "baseline", "ratio", "target", "met", "notes")
    print("| " + " | ".join(vars(header).values()) + " |")
    print("|" + "---|" * len(vars(header)), flush=True)
    for name in chosen:  # rows are printed as each benchmark finishes
        print(f"running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(BENCHMARKS[name])
        if name == "mc-hessian":
            rows = module.run(args.quick, 10.0 if args.quick else args.mc_budget)
        else:
            rows = module.run(args.quick)
        for row in rows:
            print("| " + " | ".join(vars(row).values()) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
