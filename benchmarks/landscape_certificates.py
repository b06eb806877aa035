"""Landscape certificates per width k, with their wall time (run by hand, never in tests).

    python benchmarks/landscape_certificates.py --width 6 7 8 --out NEW.json
    python benchmarks/landscape_certificates.py --compare-iv 6

For each k: the three statements of proofs_check.analysis.landscape_certificate on the stored
points (proofs_check/data/landscape_points.json), exactly what
`sobolev-verify certify-minimum --width k --json` proves, with the seconds of each part. The
output file is written once, never over an existing file (JSON, null + reason where a part was
not reached).

--published FILE certifies every family of Safran & Shamir's published spurious minima
(github.com/ItaySafran/OneLayerGDconvergence, Results/newExp-k-n.mat, as kept in the JSON file
of proofs_check/data/safran_shamir.py: points base64 float64, students as rows (n, k)) as an l2
spurious minimum for the teacher I_k, and encloses the h1 field on its box; --max-n-minus-k
limits n − k (0: the square case only).

--compare-iv k times one Jacobian enclosure (expected h1, the box of radius 1e-10 around the
stored h1 point of width k) with python-flint's Arb and with the same code run on mpmath.iv
intervals (a thin adapter with arb's method names), both at 53 bits, and one n×n product of
interval matrices (n = k²) in each.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from proofs_check.analysis import enclosures as E
from proofs_check.analysis.landscape_certificate import certify_width
from proofs_check.analysis.landscape_points import point_for


def certify_widths(widths: list[int]) -> list[dict]:
    rows = []
    for k in widths:
        W_l2 = point_for(k, "l2-spurious-minimum")
        W_h1 = point_for(k, "h1-stable-equilibrium")
        if W_l2 is None or W_h1 is None:
            rows.append({"k": k, "skipped": "no stored point of this width"})
            continue
        start = time.perf_counter()
        result = certify_width(W_l2, W_h1)
        record = result.as_dict()
        record["wall_seconds"] = time.perf_counter() - start
        rows.append(record)
        print(f"k = {k}: l2 {result.l2.status} ({result.l2.seconds:.1f} s), h1 "
              f"{result.h1.status} ({result.h1.seconds:.1f} s), total "
              f"{record['wall_seconds']:.1f} s", file=sys.stderr, flush=True)
    return rows


class _IvBall:
    """mpmath.iv interval behind the arb methods the enclosure code uses."""

    __slots__ = ("v",)

    def __init__(self, x=0, r=0.0):
        from mpmath import iv

        if isinstance(x, _IvBall):
            self.v = x.v
        elif r:
            self.v = iv.mpf(x) + iv.mpf([-r, r])
        else:
            self.v = x if isinstance(x, type(iv.mpf(0))) else iv.mpf(x)

    @staticmethod
    def _w(o):
        return o.v if isinstance(o, _IvBall) else o

    def __add__(self, o):
        return _IvBall(self.v + _IvBall._w(o))

    __radd__ = __add__

    def __sub__(self, o):
        return _IvBall(self.v - _IvBall._w(o))

    def __rsub__(self, o):
        return _IvBall(_IvBall._w(o) - self.v)

    def __mul__(self, o):
        return _IvBall(self.v * _IvBall._w(o))

    __rmul__ = __mul__

    def __truediv__(self, o):
        return _IvBall(self.v / _IvBall._w(o))

    def __rtruediv__(self, o):
        return _IvBall(_IvBall._w(o) / self.v)

    def __neg__(self):
        return _IvBall(-self.v)

    def __abs__(self):
        return _IvBall(abs(self.v))

    def __gt__(self, o):
        return bool(self.v > _IvBall._w(o))

    def sqrt(self):
        from mpmath import iv

        return _IvBall(iv.sqrt(self.v))

    def lower(self):
        from mpmath import iv

        return _IvBall(iv.mpf(self.v.a))

    def __float__(self):
        return float(self.v.mid)

    @staticmethod
    def pi():
        from mpmath import iv

        return _IvBall(iv.pi)

    @staticmethod
    def atan2(y, x):
        from mpmath import iv

        return _IvBall(iv.atan2(y.v, x.v))


class _IvMatrix:
    def __init__(self, rows):
        self.rows = [[x if isinstance(x, _IvBall) else _IvBall(x) for x in row] for row in rows]

    def transpose(self):
        return _IvMatrix([list(column) for column in zip(*self.rows, strict=True)])

    def __mul__(self, other):
        columns = list(zip(*other.rows, strict=True))
        return _IvMatrix([[sum((a * b for a, b in zip(row, col, strict=True)), _IvBall(0))
                           for col in columns] for row in self.rows])

    def __getitem__(self, ij):
        return self.rows[ij[0]][ij[1]]


def compare_iv(k: int) -> dict:
    """Seconds of one Jacobian enclosure and one n×n product, python-flint vs mpmath.iv."""
    import flint
    from mpmath import iv

    W = point_for(k, "h1-stable-equilibrium")
    if W is None:
        raise ValueError(f"--compare-iv {k}: no stored point of this width")
    out = {"k": k, "n": k * k, "radius": 1e-10, "prec_bits": 53, "field": "h1 expected"}
    saved = (E.arb, E.arb_mat, flint.ctx.prec, iv.prec)
    try:
        for name, arb, arb_mat in (("python-flint", flint.arb, flint.arb_mat),
                                   ("mpmath.iv", _IvBall, _IvMatrix)):
            E.arb, E.arb_mat = arb, arb_mat
            flint.ctx.prec, iv.prec = 53, 53
            start = time.perf_counter()
            rows = [[arb(float(x), 1e-10) for x in row] for row in W]
            geometry = E.BoxGeometry(rows, k)
            jacobian = E._jacobian(geometry, E._terms("h1", "expected", 1.0))
            out[f"{name}_jacobian_seconds"] = time.perf_counter() - start
            if name == "mpmath.iv":
                jacobian = _IvMatrix(jacobian.rows)
            start = time.perf_counter()
            _ = jacobian * jacobian
            out[f"{name}_product_seconds"] = time.perf_counter() - start
    finally:
        E.arb, E.arb_mat, flint.ctx.prec, iv.prec = saved
    out["jacobian_ratio"] = out["mpmath.iv_jacobian_seconds"] / out["python-flint_jacobian_seconds"]
    out["product_ratio"] = out["mpmath.iv_product_seconds"] / out["python-flint_product_seconds"]
    return out


def certify_published(path: str, max_extra: int) -> list[dict]:
    """l2 certificate and h1-field exclusion for every published family (module docstring)."""
    import base64

    from proofs_check.analysis.landscape_certificate import (
        certify_field_excludes_zero,
        certify_l2_minimum,
    )

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = []
    for experiment in data["experiments"]:
        k, n = experiment["k"], experiment["n"]
        if n - k > max_extra:
            continue
        for index, family in enumerate(experiment["families"]):
            W = np.frombuffer(base64.b64decode(family["W_float64_le_base64"]),
                              dtype="<f8").reshape(family["shape"]).astype(np.float64)
            start = time.perf_counter()
            cert = certify_l2_minimum(W)
            h1 = (certify_field_excludes_zero(cert.center, cert.radius, "h1")
                  if cert.radius is not None else None)
            rows.append({"k": k, "n": n, "family": index, "runs": family["count"],
                         "published_l2_loss": family["l2_loss"], "status": cert.status,
                         "l2_loss": cert.l2_loss, "margin": cert.margin,
                         "radius": cert.radius, "reason": cert.reason,
                         "h1_field_excludes_zero": h1.excluded if h1 else None,
                         "h1_field_norm_lower": h1.norm_lower if h1 else None,
                         "seconds": time.perf_counter() - start})
            print(f"published k = {k}, n = {n}, family {index}: {cert.status} "
                  f"({rows[-1]['seconds']:.1f} s)", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, nargs="*", default=[])
    parser.add_argument("--compare-iv", type=int, nargs="*", default=[])
    parser.add_argument("--published", default=None, metavar="FILE")
    parser.add_argument("--max-n-minus-k", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the results here (a new file)")
    args = parser.parse_args(argv)
    if args.out and Path(args.out).exists():
        print(f"error: --out {args.out} exists; choose a new file name", file=sys.stderr)
        return 2
    import flint

    command = "python benchmarks/landscape_certificates.py " + " ".join(sys.argv[1:] or [])
    start = time.perf_counter()
    report = {"command": command, "python_flint": flint.__version__,
              "machine": f"{platform.machine()}, {platform.python_implementation()} "
                         f"{platform.python_version()}",
              "per_k": certify_widths(args.width),
              "compare_iv": [compare_iv(k) for k in args.compare_iv],
              "published": (certify_published(args.published, args.max_n_minus_k)
                            if args.published else [])}
    report["total_seconds"] = time.perf_counter() - start
    text = json.dumps(report, indent=1, allow_nan=False)
    if args.out:
        with Path(args.out).open("x", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
