r"""Certified inequalities by interval or ball arithmetic and branch-and-bound.

:func:`prove` decides a claim ``f(x) REL 0`` (REL one of ``<``, ``<=``, ``>``, ``>=``) for every x
in a box ``[lo_1, hi_1] × … × [lo_n, hi_n]``, optionally only where conditions g_j(x) > 0 hold:

* f and the g_j are evaluated in one of two rigorous arithmetics, chosen by ``arithmetic``:
  ``"iv"`` (the default), mpmath's interval context (iv.prec bits, 53 by default; outward
  rounding), or ``"arb"``, python-flint's Arb balls mid ± rad (flint.ctx.prec bits, 53 by
  default; the radius bounds every rounding error). Either way ``f(B)`` is a rigorous enclosure
  of {f(x) : x ∈ B} for a sub-box B. A sub-box with float endpoints is an exact iv interval; as
  a ball it is the smallest Arb ball around both endpoints (its radius has a 30-bit mantissa,
  so the ball reaches beyond the sub-box by about 2^-30 of its width, never across 0 — a
  slightly larger set, hence still an enclosure of f over the sub-box; f must be defined
  there). The statement of every result names the arithmetic and its precision. At 53 bits
  an Arb product costs about 0.07 µs against 1.8 µs in mpmath.iv, a sine 0.15 µs against
  18 µs (timeit, one core), and the certified claims of the toolkit use Arb; products of
  wide balls are wider than interval products (see :class:`ArbContext`, whose
  ``fmul``/``fdiv`` restore them);
* a sub-box is *proved* when the enclosure satisfies REL (e.g. ``sup f(B) < 0``), *excluded* when
  some ``sup g_j(B) <= 0`` (no point of B is in the region), and otherwise bisected across the
  side contributing most to the width of f's enclosure (see ``_split``);
* before bisecting a sub-box whose enclosure's centre does not satisfy REL (e.g. mid f(B) >= 0
  for "<", or an enclosure unbounded on both sides), f is evaluated at the sub-box midpoint as
  a point interval: if that enclosure certainly violates REL while the midpoint is certainly in
  the region, the midpoint is a *certified counterexample* and the search stops (the centre
  test only saves work: it decides where to look for counterexamples, never what is proved);
* a sub-box narrower than ``min_width`` (relative) on every side, or left over when ``max_boxes``
  sub-boxes have been examined, is *undecided*; a result with any undecided sub-box is never
  "proved" — its status is "undecided" and it reports their number and total area (volume).

A sub-box straddling the region's boundary is proved when f satisfies REL on the whole sub-box
(so f must be defined on all of the initial box, e.g. a cross-multiplied form of a ratio);
otherwise it is bisected, and reported as undecided ("boundary") at the minimum width.

The one-neuron spectra used by the certified claims are in :func:`one_neuron_eigenvalues`;
they run in any context offering convert, pi, sin, cos (mpmath.mp, mpmath.iv, or
:data:`arb_ctx` for Arb balls). The traversal is breadth-first and deterministic.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import flint
from flint import arb
from mpmath import iv, mp
from mpmath.libmp import mpf_cmp

from theory.validation import check_convention, check_loss, check_sobolev_weight

Relation = Literal["<", "<=", ">", ">="]
RELATIONS: tuple[str, ...] = ("<", "<=", ">", ">=")
Status = Literal["proved", "counterexample", "undecided"]
Arithmetic = Literal["iv", "arb"]
#: The arithmetics :func:`prove` runs on: mpmath.iv intervals or python-flint Arb balls.
ARITHMETICS: tuple[str, ...] = ("iv", "arb")

IvBox = list  # one interval per side: mpmath.iv intervals ("iv") or python-flint balls ("arb")


def check_arithmetic(arithmetic: str) -> str:
    """``arithmetic`` itself if it is one of :data:`ARITHMETICS`, else a ValueError naming it."""
    if arithmetic not in ARITHMETICS:
        raise ValueError(f"arithmetic must be one of {ARITHMETICS} ('iv': mpmath.iv intervals, "
                         f"'arb': python-flint Arb balls); got {arithmetic!r}")
    return arithmetic


def describe_arithmetic(arithmetic: str = "iv") -> str:
    """The arithmetic and its current precision in words, as results' statements quote it."""
    if check_arithmetic(arithmetic) == "arb":
        return (f"Arb ball arithmetic (python-flint {flint.__version__}), {flint.ctx.prec}-bit "
                "precision, radii bound every rounding error")
    return f"mpmath.iv interval arithmetic, {iv.prec}-bit precision, outward rounding"


#: The arithmetic of :func:`prove`'s default (mpmath.iv; its precision is in every statement).
ARITHMETIC = "mpmath.iv interval arithmetic, outward rounding"


# --------------------------------------------------------------------------------------------
# interval helpers (mpmath.iv intervals and python-flint Arb balls)
# --------------------------------------------------------------------------------------------

def _ball(lo: float, hi: float | None = None) -> arb:
    if hi is None or hi == lo:
        return arb(lo)  # a float is exact in a ball's midpoint
    ball = arb(lo).union(arb(hi))  # rigorous: contains both endpoints, hence [lo, hi]
    # The radius' rounding makes the ball reach past [lo, hi] by ~2^-30 of its width; keep it
    # on the side of 0 the interval is on (e.g. a box [0, 1] of √x stays in [0, ∞)).
    if lo >= 0 and not ball >= 0:
        return ball.nonnegative_part()  # midpoint = radius: lower end exactly 0
    if hi <= 0 and not ball <= 0:
        return -(-ball).nonnegative_part()
    return ball


def interval(lo: float, hi: float | None = None, arithmetic: Arithmetic = "iv"):
    """The interval [lo, hi] (a point when hi is None): an exact mpmath.iv interval
    (``arithmetic="iv"``), or for ``"arb"`` an Arb ball enclosing [lo, hi] — the smallest
    around both (float) endpoints, reaching past them by about 2^-30 of the width, but never
    across 0 when [lo, hi] does not cross it. A point is exact in both."""
    if check_arithmetic(arithmetic) == "arb":
        return _ball(float(lo), None if hi is None else float(hi))
    return iv.mpf([lo, lo if hi is None else hi])


class ArbContext:
    """The few operations of an mpmath context that the one-neuron closed forms need, on
    python-flint Arb balls; :data:`arb_ctx` is the instance to pass as ``ctx``.

    ``convert`` makes an int or float an exact ball; ``pi``, ``sin``, ``cos``, ``exp``, ``sqrt``
    are Arb's rigorous enclosures at flint.ctx.prec bits. ``fmul`` and ``fdiv`` are the interval
    product and quotient: the smallest ball around the products (quotients) of the balls' exact
    end points. Arb's own ``x * y`` is a midpoint-radius product, m_x m_y ± (|m_x| r_y +
    |m_y| r_x + r_x r_y), wider by r_x r_y on each side than the range of xy — for a ball of
    relative width near 1 (the first bisection levels of a box) that reaches past 0, so the
    closed forms use ``fmul``/``fdiv`` where both factors may be wide (mpmath.mp and mpmath.iv
    have the same methods, so the code runs unchanged in all three).
    """

    @staticmethod
    def convert(x) -> arb:
        if isinstance(x, arb):
            return x
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise ValueError(f"arb_ctx.convert takes an arb ball, int or float (exact); got "
                             f"{type(x).__name__} {x!r}")
        return arb(x)

    @property
    def pi(self) -> arb:
        return arb.pi()

    @property
    def prec(self) -> int:
        return flint.ctx.prec

    def sin(self, x) -> arb:
        return self.convert(x).sin()

    def cos(self, x) -> arb:
        return self.convert(x).cos()

    def exp(self, x) -> arb:
        return self.convert(x).exp()

    def sqrt(self, x) -> arb:
        return self.convert(x).sqrt()

    def fmul(self, x, y) -> arb:
        """A ball around {ab : a ∈ x, b ∈ y}: the hull of the four end-point products (two
        when both balls are nonnegative); x * y when a factor is exact or not finite."""
        x, y = self.convert(x), self.convert(y)
        if x.is_exact() or y.is_exact() or not (x.is_finite() and y.is_finite()):
            return x * y  # exact factor: m·c ± |c|·r is already the range
        xl, xu, yl, yu = x.lower(), x.upper(), y.lower(), y.upper()  # exact end points
        if xl >= 0 and yl >= 0:
            return (xl * yl).union(xu * yu)
        return (xl * yl).union(xl * yu).union(xu * yl).union(xu * yu)

    def fdiv(self, x, y) -> arb:
        """A ball around {a/b : a ∈ x, b ∈ y} for y certainly nonzero (hull of the end-point
        quotients); otherwise (or for an exact or non-finite y) Arb's x / y."""
        x, y = self.convert(x), self.convert(y)
        if (y.is_exact() or not (x.is_finite() and y.is_finite())
                or not (y > 0 or y < 0)):
            return x / y
        yl, yu = y.lower(), y.upper()
        if x.is_exact():
            return (x / yl).union(x / yu)
        xl, xu = x.lower(), x.upper()
        return (xl / yl).union(xl / yu).union(xu / yl).union(xu / yu)

    def __repr__(self) -> str:
        return "arb_ctx"


#: Arb-ball context for :func:`one_neuron_spectra` and
#: proofs_check.analysis.activation_gains.one_neuron_minimum (``ctx=arb_ctx``).
arb_ctx = ArbContext()


_ENDPOINT = functools.cmp_to_key(mpf_cmp)


def _endpoint_extreme(values, pick) -> Any:
    # Works on the raw endpoint pairs (mpmath's ``_mpi_``) of the intervals: no rounding occurs.
    pairs = [iv.convert(x)._mpi_ for x in values]
    return iv.make_mpf((pick((a for a, _ in pairs), key=_ENDPOINT),
                        pick((b for _, b in pairs), key=_ENDPOINT)))


def _ball_extreme(values, pick) -> arb:
    # arb.max / arb.min: a ball enclosing max / min(x_1, …) over all points of the balls.
    result = None
    for x in values:
        if type(x) is not arb:
            if isinstance(x, iv.mpf):
                raise ValueError("interval_max/interval_min got both Arb balls and mpmath.iv "
                                 "intervals; use one arithmetic")
            x = arb_ctx.convert(x)
        result = x if result is None else pick(result, x)
    return result


def _is_ball(values) -> bool:
    return type(values[0]) is arb or any(isinstance(x, arb) for x in values)


def interval_max(*values):
    """Enclosure of max(x_1, …, x_k) over intervals: [max of lower ends, max of upper ends].

    mpmath.iv intervals (and numbers) give that interval exactly; if any value is an Arb ball,
    the result is a ball enclosing it (arb.max)."""
    if not values:
        raise ValueError("interval_max/interval_min need at least one interval")
    if _is_ball(values):
        return _ball_extreme(values, arb.max)
    return _endpoint_extreme(values, max)


def interval_min(*values):
    """Enclosure of min(x_1, …, x_k) over intervals: [min of lower ends, min of upper ends]
    (exact for mpmath.iv, an enclosing ball (arb.min) if any value is an Arb ball)."""
    if not values:
        raise ValueError("interval_max/interval_min need at least one interval")
    if _is_ball(values):
        return _ball_extreme(values, arb.min)
    return _endpoint_extreme(values, min)


def _holds(value, relation: str) -> bool:
    """Whether every point of the enclosure satisfies ``value REL 0``."""
    if isinstance(value, arb):  # Arb's comparisons hold for every pair of points of the balls
        if relation == "<":
            return value < 0
        if relation == "<=":
            return value <= 0
        if relation == ">":
            return value > 0
        return value >= 0
    if relation == "<":
        return bool(value.b < 0)
    if relation == "<=":
        return bool(value.b <= 0)
    if relation == ">":
        return bool(value.a > 0)
    return bool(value.a >= 0)


def _violated(value, relation: str) -> bool:
    """Whether every point of the enclosure violates ``value REL 0``."""
    if isinstance(value, arb):
        if relation == "<":
            return value >= 0
        if relation == "<=":
            return value > 0
        if relation == ">":
            return value <= 0
        return value < 0
    if relation == "<":
        return bool(value.a >= 0)
    if relation == "<=":
        return bool(value.a > 0)
    if relation == ">":
        return bool(value.b <= 0)
    return bool(value.b < 0)


def _centre(value):
    """The centre of an enclosure as a point of the same arithmetic."""
    return value.mid() if isinstance(value, arb) else value.mid


def _width(value) -> float:
    """Width of an enclosure as a float (+inf when unbounded), for choosing a side to split."""
    if isinstance(value, arb):
        return 2 * float(value.rad()) if value.is_finite() else math.inf
    return float(value.delta)


def _text(value) -> str:
    """A decimal form of an enclosure that still encloses it ([a, b] or [mid +/- rad])."""
    if isinstance(value, arb):
        return value.str(radius=True, more=True)
    return str(value)


def _checked(value, what: str, box: Sequence[tuple[float, float]], arithmetic: str = "iv"):
    if arithmetic == "arb":
        if not isinstance(value, arb):
            raise ValueError(
                f"{what} must return a python-flint arb ball with arithmetic='arb' (got "
                f"{type(value).__name__}); compute it with arb operations (arb_ctx.sin, "
                "arb_ctx.pi, arithmetic on the arb sides) so the bound is rigorous")
        if value.is_nan():
            raise ValueError(f"{what} returned a NaN enclosure {value} on the box {list(box)}; "
                             "make it defined on the whole box (or shrink the box)")
        return value
    if not isinstance(value, iv.mpf):
        raise ValueError(
            f"{what} must return an mpmath.iv interval (got {type(value).__name__}); compute it "
            "with iv operations (iv.sin, iv.cos, iv.pi, arithmetic on iv.mpf) so the bound is "
            "rigorous"
        )
    if mp.isnan(value.a) or mp.isnan(value.b):
        raise ValueError(f"{what} returned a NaN enclosure {value} on the box {list(box)}; "
                         "make it defined on the whole box (or shrink the box)")
    return value


def _as_tuple(values) -> tuple:
    if isinstance(values, iv.mpf | arb):
        return (values,)
    return tuple(values)


def _region(where, ivbox: IvBox, box, arithmetic: str = "iv") -> str:
    """'inside' (all g_j > 0 certainly), 'outside' (some g_j <= 0 certainly) or 'straddle'."""
    if where is None:
        return "inside"
    conditions = [_checked(g, "where", box, arithmetic) for g in _as_tuple(where(ivbox))]
    if any(_holds(g, "<=") for g in conditions):
        return "outside"
    if all(_holds(g, ">") for g in conditions):
        return "inside"
    return "straddle"


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------

def format_box(box: Sequence[tuple[float, float]], names: Sequence[str]) -> str:
    """'ρ ∈ [0.1, 10.0], θ ∈ [0.001, 3.140592653589793]' (exact float endpoints, via repr)."""
    return ", ".join(f"{name} ∈ [{lo!r}, {hi!r}]" for name, (lo, hi) in zip(names, box,
                                                                            strict=True))


def _volume(box: Sequence[tuple[float, float]]) -> float:
    return math.prod(hi - lo for lo, hi in box)


@dataclass
class CertificationResult:
    """The outcome of :func:`prove`.

    status: "proved" (every sub-box certified or excluded: ``statement`` says "proved on box …"),
        "counterexample" (``counterexample`` holds a point where f certainly violates the
        relation while certainly inside the region, with the enclosures), or "undecided"
        (``undecided`` lists the sub-boxes left with their reason, "min-width", "boundary" or
        "budget"; ``undecided_area`` is their total area — volume for n ≠ 2 sides).
    """

    status: Status
    statement: str
    box: tuple[tuple[float, float], ...]
    names: tuple[str, ...]
    relation: str
    claim: str
    condition: str | None
    proved_boxes: int = 0
    boundary_boxes: int = 0
    excluded_boxes: int = 0
    examined_boxes: int = 0
    undecided: list[dict[str, Any]] = field(default_factory=list)
    undecided_area: float = 0.0
    counterexample: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def undecided_fraction(self) -> float:
        """Undecided area as a fraction of the initial box's area."""
        return self.undecided_area / _volume(self.box)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (undecided boxes truncated to the first 20)."""
        return {
            "status": self.status,
            "statement": self.statement,
            "box": format_box(self.box, self.names),
            "claim": self.claim,
            "condition": self.condition,
            "proved_boxes": self.proved_boxes,
            "boundary_boxes_proved": self.boundary_boxes,
            "excluded_boxes": self.excluded_boxes,
            "examined_boxes": self.examined_boxes,
            "undecided_boxes": len(self.undecided),
            "undecided_area": self.undecided_area,
            "undecided_fraction": self.undecided_fraction,
            "undecided_sample": self.undecided[:20],
            "counterexample": self.counterexample,
            "method": ("breadth-first bisection of the side contributing most to the width of "
                       "f's enclosure"),
            **self.settings,
        }


# --------------------------------------------------------------------------------------------
# branch and bound
# --------------------------------------------------------------------------------------------

def _check_box(box, names) -> tuple[tuple[tuple[float, float], ...], tuple[str, ...]]:
    try:
        sides = [tuple(side) for side in box]
    except TypeError:
        raise ValueError("box must be a sequence of (lo, hi) pairs, one per variable") from None
    if not sides:
        raise ValueError("box is empty: give at least one side (lo, hi)")
    checked = []
    for k, side in enumerate(sides):
        if len(side) != 2:
            raise ValueError(f"box side {k} must be a pair (lo, hi); got {side!r}")
        try:
            lo, hi = float(side[0]), float(side[1])
        except (TypeError, ValueError):
            raise ValueError(f"box side {k} must hold two real numbers; got {side!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"box side {k} must have finite endpoints; got [{lo}, {hi}]")
        if not lo < hi:
            raise ValueError(f"box side {k} is empty or inverted ([{lo}, {hi}]): need lo < hi; "
                             "to check one point, evaluate f at a point interval instead")
        checked.append((lo, hi))
    if names is None:
        names = tuple(f"x{k}" for k in range(len(checked)))
    names = tuple(str(name) for name in names)
    if len(names) != len(checked):
        raise ValueError(f"names has {len(names)} entries but the box has {len(checked)} sides")
    return tuple(checked), names


def _halves(box, k) -> tuple[tuple, tuple] | None:
    lo, hi = box[k]
    mid = lo + (hi - lo) / 2
    if not lo < mid < hi:  # side at float resolution
        return None
    return box[:k] + ((lo, mid),) + box[k + 1:], box[:k] + ((mid, hi),) + box[k + 1:]


def _split(f, box, ivbox, root, min_width, arithmetic) -> tuple[tuple, tuple] | None:
    """Bisect the side that contributes most to the width of f's enclosure.

    A side's contribution is measured derivative-free: the enclosure of f is recomputed with
    that side collapsed to its midpoint, and the side whose collapse leaves the narrowest
    enclosure is bisected (ties, e.g. infinite widths, go to the widest side relative to the
    initial box). Sides narrower than ``min_width`` times their initial width, or at float
    resolution, are not split; when only one side can be split, it is split without evaluating
    f. ``ivbox`` holds the sides of ``box`` as intervals. Returns the two halves, or None.
    """
    candidates = []
    for k in range(len(box)):
        lo, hi = box[k]
        if hi - lo <= min_width * (root[k][1] - root[k][0]):
            continue
        halves = _halves(box, k)
        if halves is not None:
            candidates.append((k, halves))
    if len(candidates) <= 1:
        return candidates[0][1] if candidates else None
    best = None
    for k, halves in candidates:
        lo, hi = box[k]
        collapsed = list(ivbox)
        collapsed[k] = interval(lo + (hi - lo) / 2, arithmetic=arithmetic)
        width = _width(_checked(f(collapsed), "f", box, arithmetic))  # +inf if unbounded
        score = (width, -(hi - lo) / (root[k][1] - root[k][0]))
        if best is None or score < best[0]:
            best = (score, halves)
    return best[1]


def prove(f: Callable[[IvBox], Any], box: Sequence[tuple[float, float]], *,
          relation: Relation = "<", where: Callable[[IvBox], Any] | None = None,
          names: Sequence[str] | None = None, claim: str | None = None,
          condition: str | None = None, min_width: float = 1e-6,
          max_boxes: int = 20_000, f_label: str | None = None,
          arithmetic: Arithmetic = "iv") -> CertificationResult:
    """Prove ``f(x) REL 0`` for all x in ``box`` (where all ``where(x) > 0``), or refute it.

    f: maps a list of intervals (one per side, in box order) to an interval enclosing f on that
        sub-box, in the arithmetic chosen by ``arithmetic``: mpmath.iv intervals for "iv" (the
        default), python-flint arb balls for "arb" (build constants and functions with
        :data:`arb_ctx` or arb methods). Must be an enclosure on every sub-box of ``box``.
    box: sequence of (lo, hi) float pairs with lo < hi; the endpoints are taken exactly.
    relation: "<", "<=", ">" or ">=" (f compared with 0).
    where: optional; maps the same list to an interval or a tuple of intervals g_j (same
        arithmetic); the claim is restricted to the region {all g_j > 0}.
    names, claim, condition: labels of the sides, of the relation (default "f REL 0") and of the
        region, used in the statement ("proved on box ρ ∈ [..], θ ∈ [..]: CLAIM wherever ...").
    f_label: what f is, in words or a formula (e.g. "λmax(h1)·λmin(l2) − λmax(l2)·λmin(h1)");
        a counterexample statement quotes f's enclosure under this name, so that every symbol
        of the statement is defined (default: "f, the function compared with 0").
    min_width: a sub-box whose sides are all below this fraction of the initial widths is not
        split further (undecided). max_boxes: budget of examined sub-boxes.
    arithmetic: "iv" (mpmath.iv at iv.prec bits) or "arb" (Arb balls at flint.ctx.prec bits);
        the statement and ``settings["arithmetic"]`` name it with its precision.
    Returns a :class:`CertificationResult`; raises ValueError for bad input and for f/where not
    returning intervals of the chosen arithmetic or returning NaN enclosures.
    """
    check_arithmetic(arithmetic)
    root, names = _check_box(box, names)
    if relation not in RELATIONS:
        raise ValueError(f"relation must be one of {RELATIONS}; got {relation!r}")
    claim = f"f {relation} 0" if claim is None else claim
    if not (isinstance(min_width, int | float) and math.isfinite(min_width) and
            0 < min_width < 1):
        raise ValueError(f"min_width must be a fraction in (0, 1) of the initial widths; "
                         f"got {min_width!r}")
    if isinstance(max_boxes, bool) or not isinstance(max_boxes, int) or max_boxes < 1:
        raise ValueError(f"max_boxes must be a positive integer; got {max_boxes!r}")
    if not callable(f) or (where is not None and not callable(where)):
        raise ValueError("f (and where, if given) must be callables on a list of intervals")

    result = CertificationResult(
        status="undecided", statement="", box=root, names=names, relation=relation,
        claim=claim, condition=condition,
        settings={"arithmetic": describe_arithmetic(arithmetic), "min_width": min_width,
                  "max_boxes": max_boxes},
    )
    queue: deque[tuple[tuple[float, float], ...]] = deque([root])
    while queue:
        if result.examined_boxes >= max_boxes:
            result.undecided.extend({"box": format_box(b, names), "reason": "budget"}
                                    for b in queue)
            result.undecided_area += sum(_volume(b) for b in queue)
            break
        current = queue.popleft()
        result.examined_boxes += 1
        ivbox = [interval(lo, hi, arithmetic) for lo, hi in current]
        region = _region(where, ivbox, current, arithmetic)
        if region == "outside":
            result.excluded_boxes += 1
            continue
        value = _checked(f(ivbox), "f", current, arithmetic)
        if _holds(value, relation):
            result.proved_boxes += 1
            result.boundary_boxes += region == "straddle"
            continue
        point = tuple(lo + (hi - lo) / 2 for lo, hi in current)
        ivpoint = [interval(x, arithmetic=arithmetic) for x in point]
        if (not _holds(_centre(value), relation)
                and _region(where, ivpoint, current, arithmetic) == "inside"):
            at_point = _checked(f(ivpoint), "f", current, arithmetic)
            if _violated(at_point, relation):
                conditions = [] if where is None else [_text(g) for g in
                                                       _as_tuple(where(ivpoint))]
                result.status = "counterexample"
                result.counterexample = {
                    "point": dict(zip(names, point, strict=True)),
                    "f_enclosure": _text(at_point),
                    "where_enclosures": conditions,
                    "sub_box": format_box(current, names),
                }
                result.statement = (f"counterexample to {claim} at "
                                    + ", ".join(f"{n} = {x!r}" for n, x in zip(names, point,
                                                                               strict=True))
                                    + f": f ∈ {_text(at_point)}, where f = "
                                    + (f_label or f"the function compared with 0 ({relation})")
                                    + f" ({result.settings['arithmetic']})")
                return result
        children = _split(f, current, ivbox, root, min_width, arithmetic)
        if children is None:
            result.undecided.append({"box": format_box(current, names),
                                     "reason": "boundary" if region == "straddle" else
                                     "min-width"})
            result.undecided_area += _volume(current)
            continue
        queue.extend(children)

    where_text = f" wherever {condition}" if condition else ""
    if not result.undecided:
        result.status = "proved"
        straddling = (f" ({result.boundary_boxes} of them straddling the region's boundary)"
                      if where is not None else "")
        vacuous = " (vacuously: no sub-box meets the region)" if not result.proved_boxes else ""
        result.statement = (
            f"proved on box {format_box(root, names)}: {claim}{where_text}{vacuous} — "
            f"{result.proved_boxes} sub-boxes certified{straddling}, "
            f"{result.excluded_boxes} excluded; {result.settings['arithmetic']}")
    else:
        result.statement = (
            f"undecided on box {format_box(root, names)}: {claim}{where_text} — "
            f"{len(result.undecided)} sub-boxes undecided (area {result.undecided_area:.3g}, "
            f"{100 * result.undecided_fraction:.3g}% of the box), {result.proved_boxes} "
            f"certified, {result.excluded_boxes} excluded; {result.settings['arithmetic']}; "
            "not a proof")
    return result


# --------------------------------------------------------------------------------------------
# one-neuron spectra
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64, typed=True)
def _spectra_options(convention: str, sobolev_weight: float, dim: int) -> float:
    """The checked Sobolev weight (as a float) after checking convention and dim."""
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise ValueError(f"dim must be an integer >= 2 (one neuron has an angle only for d >= 2); "
                         f"got {dim!r}")
    return weight


def one_neuron_spectra(rho, theta, *, convention: str = "expected", sobolev_weight: float = 1.0,
                       dim: int = 3, ctx=iv) -> dict[str, dict[str, tuple[Any, int]]]:
    r"""Eigenvalues of the one-neuron population Hessians (K = K* = 1) of all three losses.

    With w = r v, w* = r* u, θ = angle(w, w*) ∈ (0, π), ρ = r*/r, t = ρ sin θ/(2π),
    s = ρ cos²θ/(2π sin θ), e the unit vector of u's part orthogonal to v, and λ = sobolev_weight:

    ========================  =========  =================  =====================
    loss (convention)         v          e                  complement (d − 2)
    ========================  =========  =================  =====================
    l2                        1/2        1/2 − 2t           1/2 − t
    sobolev (expected)        1/2        1/2 − t            1/2
    sobolev (exact)           1/2        1/2 − 2t           1/2 + s
    h1 = l2 + λ·sobolev       sum of the two rows, direction by direction
    ========================  =========  =================  =====================

    (The expected Sobolev Jacobian is upper triangular in the (v, e) plane, off-diagonal
    −ρ cos θ/(2π), so its eigenvalues are the diagonal ones.) The Hessian depends on r only
    through ρ, and on d only through whether d = 2 (no complement) or d >= 3.

    rho, theta: numbers or intervals of ``ctx`` (mpmath.iv or :data:`arb_ctx` for enclosures,
    mpmath.mp for high-precision points). Returns {loss: {"v": (λ, 1), "e": (λ, 1),
    "complement": (λ, d − 2)}} for loss in l2, sobolev, h1 (no "complement" entry when
    dim = 2), values in ``ctx``.
    """
    try:  # validated once per distinct (convention, weight, dim): the spectra sit in hot loops
        weight = _spectra_options(convention, sobolev_weight, dim)
    except TypeError:  # unhashable argument: validate it (and raise the ValueError) directly
        weight = _spectra_options.__wrapped__(convention, sobolev_weight, dim)
    weight = ctx.convert(weight)
    rho, theta = ctx.convert(rho), ctx.convert(theta)
    pi = ctx.pi
    if not rho > 0:
        raise ValueError(f"rho = |w*|/|w| must be > 0 (certainly, for an interval); got {rho}")
    if not (theta > 0 and theta < pi):
        raise ValueError(f"theta must lie in the open interval (0, π) (certainly, for an "
                         f"interval): the Hessian does not exist at θ = 0 or π; got {theta}")
    half = ctx.convert(0.5)
    sin = ctx.sin(theta)
    two_pi = pi + pi
    t = ctx.fmul(rho, sin) / two_pi
    l2 = {"v": half, "e": half - (t + t), "complement": half - t}
    if convention == "expected":
        sob = {"v": half, "e": half - t, "complement": half}
    else:
        cos = ctx.cos(theta)
        sob = {"v": half, "e": l2["e"],
               "complement": half + ctx.fdiv(ctx.fmul(rho, cos * cos), two_pi * sin)}
    h1 = {key: l2[key] + weight * sob[key] for key in l2}
    directions = {"v": 1, "e": 1, "complement": dim - 2} if dim >= 3 else {"v": 1, "e": 1}
    return {name: {key: (values[key], count) for key, count in directions.items()}
            for name, values in (("l2", l2), ("sobolev", sob), ("h1", h1))}


def one_neuron_eigenvalues(rho, theta, loss: str = "h1", *, convention: str = "expected",
                           sobolev_weight: float = 1.0, dim: int = 3,
                           ctx=iv) -> dict[str, tuple[Any, int]]:
    """Eigenvalues {direction: (λ, multiplicity)} of one loss; see :func:`one_neuron_spectra`."""
    check_loss(loss)
    return one_neuron_spectra(rho, theta, convention=convention, sobolev_weight=sobolev_weight,
                              dim=dim, ctx=ctx)[loss]


def extremes(eigenvalues: dict[str, tuple[Any, int]]) -> tuple[Any, Any]:
    """(λ_min, λ_max) enclosures over the directions of an iv or arb spectrum (see above)."""
    values = [value for value, _ in eigenvalues.values()]
    return interval_min(*values), interval_max(*values)


def one_neuron_extremes(rho, theta, loss: str = "h1", *, convention: str = "expected",
                        sobolev_weight: float = 1.0, dim: int = 3, ctx=iv) -> tuple[Any, Any]:
    """(λ_min, λ_max) enclosures of the one-neuron Hessian over intervals ρ, θ, in mpmath.iv
    (default) or Arb balls (``ctx=arb_ctx``)."""
    return extremes(one_neuron_eigenvalues(rho, theta, loss, convention=convention,
                                           sobolev_weight=sobolev_weight, dim=dim, ctx=ctx))
