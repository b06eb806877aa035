r"""check_formula: test a researcher's one-neuron formula against the toolkit's two routes.

A candidate for one neuron (K = K* = 1) is compared, point by point, with

* route "theory":  theory.population_loss / population_gradient / population_hessian (numpy
  closed forms), and the (r, θ) flow computed from population_gradient by the chain rule
  ṙ = −v·F, θ̇ = (u − cos θ v)·F/(r sin θ);
* route "derived": theory.symbolic.numeric (SymPy derivation, lambdified).

The two routes are also compared with each other (``route_disagreement``).

Candidates
    * a callable ``(w, w_star) -> array`` (w, w_star of shape (d,)); it returns a float (loss),
      a (d,) vector (gradient), a (d, d) matrix (hessian) or a pair (ṙ, θ̇) (flow);
    * a SymPy expression or a string in the documented symbols (theory.symbolic.symbols):
      r = |w|, r_star = |w*|, theta, lam (λ), pi, and for gradient/hessian the n×1 matrix symbols
      u = w*/|w*|, v = w/|w|, w = r·v, w_star = r_star·u and the identity I, with ``.T`` for the
      transpose: e.g. ``"I/2 - r_star/(2*pi*r*sin(theta))*(u*u.T - cos(theta)*v*u.T"
      " + sin(theta)**2*I)*(I - v*v.T)"``. For "flow" give a 2-tuple (ṙ, θ̇) of expressions.

Points (θ = angle(w, w*), r, r* log-uniform in [0.1, 10], d from ``dims``, random rotation):
    1. a fixed grid of near-degenerate and generic angles θ ∈ {1e-6, 1e-3, π/2, π − 1e-3,
       π − 1e-6} for d ∈ {2, 3} and three norm pairs (30 points);
    2. ``n_random`` seeded random points, a third of them with θ within 1e-6…1e-1 of 0 or π;
    3. a hypothesis search (``n_search`` examples, ``hypothesis.target`` steering towards the
       largest error, derandomized). If hypothesis is not installed, ``n_search`` further seeded
       random points are used instead and ``search`` says "random (hypothesis not installed)".
Points where the reference quantity does not exist (NonDifferentiableError) are skipped and not
counted. The error at a point is ‖candidate − reference‖_∞ / max(‖reference‖_∞, floor) with
floor = 1e-6·(r² + r*²) for a loss (theory's loss carries ~1e-16·(r² + r*²) absolute rounding,
so tiny losses near the teacher are compared on that scale), 1e-10·(r + r*) for a gradient and
1e-12 otherwise. The routes count as agreeing when their relative difference is <= ROUTE_RTOL.

Verdict: "holds" when at least ``min_points`` (default 200, never fewer than MIN_POINTS) points
were compared and the largest error is <= rtol; "fails" with the worst configuration when the
largest error exceeds rtol; "inconclusive" when too few points exist or the two routes disagree.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

import theory
from theory.validation import check_convention, check_loss, check_sobolev_weight

QUANTITIES = ("loss", "gradient", "hessian", "flow")
#: check_formula never reports "holds" from fewer compared points than this.
MIN_POINTS = 200
NEAR_DEGENERATE_ANGLES = (1e-6, 1e-3, math.pi / 2, math.pi - 1e-3, math.pi - 1e-6)
#: Largest relative difference between the "theory" and "derived" routes still counted as rounding.
ROUTE_RTOL = 1e-6
_GRID_NORMS = ((1.0, 1.0), (0.5, 2.0), (3.0, 0.3))


@dataclass
class FormulaVerdict:
    """Outcome of :func:`check_formula`.

    holds: True only for status "holds". max_relative_error: largest error against route
    "theory"; worst: the configuration where it occurred (w, w_star, d, r, r_star, theta, the
    candidate's and the reference's values). n_points: points compared (existing quantity).
    route_disagreement: largest relative difference between the routes "theory" and "derived".
    """

    status: str
    quantity: str
    loss: str
    convention: str
    sobolev_weight: float
    rtol: float
    n_points: int
    min_points: int
    max_relative_error: float
    max_relative_error_derived: float
    route_disagreement: float
    worst: dict[str, Any] | None
    search: str
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return self.status == "holds"

    def summary(self) -> str:
        return (f"{self.status}: {self.quantity} of {self.loss} ({self.convention}, λ = "
                f"{self.sobolev_weight:g}); max relative error {self.max_relative_error:.2e} "
                f"(rtol {self.rtol:g}) over {self.n_points} points; routes theory/derived agree "
                f"to {self.route_disagreement:.1e}")

    def evidence(self) -> dict[str, Any]:
        """Numbers with provenance, for claims and reports (worst configuration as lists)."""
        worst = None
        if self.worst is not None:
            worst = {key: (np.asarray(value).tolist() if isinstance(value, np.ndarray) else value)
                     for key, value in self.worst.items()}
        return {
            "quantity": self.quantity, "loss": self.loss, "convention": self.convention,
            "sobolev_weight": self.sobolev_weight, "rtol": self.rtol,
            "n_points": self.n_points, "min_points": self.min_points,
            "max_relative_error": self.max_relative_error,
            "max_relative_error_vs_derived": self.max_relative_error_derived,
            "route_disagreement": self.route_disagreement, "search": self.search,
            "worst": worst, "method": "one neuron; references theory.population_* and "
                                      "theory.symbolic.numeric",
        }


def _configuration(d: int, r: float, r_star: float, angle: float, seed: int):
    """w* = r*·u, w = r(cos θ u + sin θ e) with a random orthonormal pair (u, e) in R^d."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, 2)))
    u, e = q[:, 0], q[:, 1]
    return r * (math.cos(angle) * u + math.sin(angle) * e), r_star * u


def _flow_from_field(field_value: NDArray, w: NDArray, w_star: NDArray) -> NDArray:
    r = np.linalg.norm(w)
    v, u = w / r, w_star / np.linalg.norm(w_star)
    cos = float(np.dot(u, v))
    perp = u - cos * v
    sin = float(np.linalg.norm(perp))
    return np.array([-np.dot(v, field_value), np.dot(perp, field_value) / (r * sin)])


def _reference(route: str, quantity: str, loss: str, convention: str, weight: float,
               w: NDArray, w_star: NDArray) -> NDArray:
    if route == "theory":
        if quantity == "loss":
            return np.asarray(theory.population_loss(w, w_star, loss, sobolev_weight=weight))
        if quantity == "hessian":
            return theory.population_hessian(w, w_star, loss, convention=convention,
                                             sobolev_weight=weight)
        grad = theory.population_gradient(w, w_star, loss, convention=convention,
                                          sobolev_weight=weight)[0]
        return grad if quantity == "gradient" else _flow_from_field(grad, w, w_star)
    from theory.symbolic import numeric

    if quantity == "loss":
        return np.asarray(numeric.loss(w, w_star, loss, sobolev_weight=weight))
    function = getattr(numeric, quantity)
    return np.asarray(function(w, w_star, loss, convention=convention, sobolev_weight=weight))


#: Functions a string formula may call (name -> SymPy function).
FORMULA_FUNCTIONS = ("sin", "cos", "tan", "cot", "sqrt", "exp", "log", "asin", "acos", "atan",
                     "atan2", "Abs")
#: Longest formula text accepted, deepest nesting, and largest |numeric exponent|.
MAX_FORMULA_LENGTH = 10_000
MAX_FORMULA_DEPTH = 100
MAX_NUMERIC_EXPONENT = 64
#: Largest exact number a formula may build, in bits (about 4900 decimal digits): checked
#: before each power is formed, so nested powers such as ((9**64)**64)**64 are refused at once.
MAX_NUMBER_BITS = 2**14

#: Operators of one precedence level: a chain r + r + … + r (or r*r*…*r) is one level of
#: nesting however long, and is built without recursion.
_CHAINS = (frozenset({"Add", "Sub"}), frozenset({"Mult", "Div", "MatMult"}))


def parse_formula(text: str):
    """Build the SymPy expression of a formula string without evaluating any Python.

    The text is parsed by Python's ``ast`` and walked under an allow-list: numbers (int, float),
    the documented symbols (r, r_star, theta, lam, pi, u, v, w, w_star, I; see
    theory.symbolic.symbols), the operators + - * / ** (and @ for matrix products), unary ±,
    calls of FORMULA_FUNCTIONS with positional arguments, and ``.T`` (transpose). Everything
    else — other names, attributes, subscripts, keyword arguments, strings, lambdas,
    comprehensions — raises ValueError naming what is not allowed. Limits, each a one-line
    ValueError: at most MAX_FORMULA_LENGTH characters; nesting (parentheses, powers, calls —
    a chain of + and − or of * and / counts as one level, however long) at most
    MAX_FORMULA_DEPTH; numeric exponents |p| <= MAX_NUMERIC_EXPONENT; and no exact number
    beyond MAX_NUMBER_BITS bits, estimated before each power is built (so ``9**9**9`` and
    ``((9**64)**64)**64`` cannot hang the parser). Unlike sympify and parse_expr, which run
    ``eval``, nothing in the text is ever executed.
    """
    import ast

    import sympy as sp

    from theory.symbolic import symbols as S

    if not isinstance(text, str):
        raise ValueError(f"a formula must be a string; got {type(text).__name__}")
    if len(text) > MAX_FORMULA_LENGTH:
        raise ValueError(f"formula is {len(text)} characters long; at most "
                         f"{MAX_FORMULA_LENGTH} are accepted")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"candidate could not be parsed as a formula in the symbols r, r_star, "
                         f"theta, lam, u, v, w, w_star, I: {exc.msg} at column "
                         f"{exc.offset}") from None
    except (RecursionError, MemoryError):  # Python's parser recurses once per operator
        raise ValueError("formula is too deep for Python's parser (thousands of nested or "
                         "chained operators or signs); write repeated terms as a product such "
                         "as 5000*r") from None
    names = {key: value for key, value in S.local_dict().items()
             if key not in ("sin", "cos", "tan", "cot", "sqrt")}
    functions = {name: getattr(sp, name) for name in FORMULA_FUNCTIONS}
    binary = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
              ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
              ast.MatMult: lambda a, b: a * b}
    allowed = ("numbers, the symbols " + ", ".join(sorted(names)) + ", + - * / ** @, calls of "
               + ", ".join(FORMULA_FUNCTIONS) + " and .T")

    def refuse(node: ast.AST, what: str) -> ValueError:
        snippet = ast.get_source_segment(text.strip(), node) or type(node).__name__
        if len(snippet) > 60:
            snippet = snippet[:57] + "..."
        return ValueError(f"formula: {what} is not allowed ({snippet!r}); a formula may use "
                          f"only {allowed}")

    def number_bits(expression) -> float:
        """Bits of the largest exact number (numerator or denominator) in an expression."""
        rationals = ([expression] if isinstance(expression, sp.Rational)
                     else expression.atoms(sp.Rational) if isinstance(expression, sp.Basic)
                     else ())
        return max((max(abs(q.p).bit_length(), abs(q.q).bit_length()) for q in rationals),
                   default=0)

    def power(node: ast.AST, left, right):
        if right.is_Number and abs(right) > MAX_NUMERIC_EXPONENT:
            raise refuse(node, f"a numeric exponent larger than {MAX_NUMERIC_EXPONENT}")
        if right.is_Number and number_bits(left) * float(abs(right)) > MAX_NUMBER_BITS:
            raise refuse(node, f"a number of more than {MAX_NUMBER_BITS} bits")
        return left**right

    def chain(node: ast.BinOp) -> tuple[ast.AST, list[tuple[ast.operator, ast.AST]]]:
        """The left spine of one precedence level: (first operand, [(op, operand), ...])."""
        level = next(c for c in _CHAINS if type(node.op).__name__ in c)
        links = []
        while isinstance(node, ast.BinOp) and type(node.op).__name__ in level:
            links.append((node.op, node.right))
            node = node.left
        links.reverse()
        return node, links

    def build(node: ast.AST, depth: int):
        if depth > MAX_FORMULA_DEPTH:
            raise ValueError(f"formula is nested deeper than {MAX_FORMULA_DEPTH} levels")
        if isinstance(node, ast.Expression):
            return build(node.body, depth)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise refuse(node, f"the constant {value!r}")
            if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
                raise refuse(node, f"a number of more than {MAX_NUMBER_BITS} bits")
            return sp.Integer(value) if isinstance(value, int) else sp.Float(value)
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            if node.id in functions:
                raise refuse(node, f"the function {node.id!r} without a call")
            raise refuse(node, f"the name {node.id!r}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            negative = False  # a run of signs is one level: --…-r
            while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                negative ^= isinstance(node.op, ast.USub)
                node = node.operand
            operand = build(node, depth + 1)
            return -operand if negative else operand
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.BitXor):
                raise refuse(node, "'^' (write powers as '**')")
            if isinstance(node.op, ast.Pow):
                left, right = build(node.left, depth + 1), build(node.right, depth + 1)
                return power(node, left, right)
            if type(node.op) not in binary:
                raise refuse(node, f"the operator {type(node.op).__name__}")
            first, links = chain(node)
            result = build(first, depth + 1)
            for op, operand in links:
                if type(op) not in binary:
                    raise refuse(node, f"the operator {type(op).__name__}")
                result = binary[type(op)](result, build(operand, depth + 1))
            return result
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in functions:
                raise refuse(node.func, "calling anything but " + ", ".join(FORMULA_FUNCTIONS))
            if node.keywords:
                raise refuse(node, "a keyword argument")
            if any(isinstance(arg, ast.Starred) for arg in node.args):
                raise refuse(node, "a starred argument")
            return functions[node.func.id](*(build(arg, depth + 1) for arg in node.args))
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise refuse(node, f"the attribute {node.attr!r}")
            return sp.transpose(build(node.value, depth + 1))
        raise refuse(node, f"a {type(node).__name__} expression")

    try:
        return build(tree, 0)
    except ValueError:
        raise
    except (RecursionError, MemoryError):
        raise ValueError(f"formula {text[:60]!r}… is too large to build (nested deeper than "
                         f"{MAX_FORMULA_DEPTH} levels or numbers beyond memory)") from None
    except (TypeError, ArithmeticError, sp.SympifyError) as exc:  # e.g. shapes that do not fit
        raise ValueError(f"formula {text[:200]!r} is not a valid expression: {exc}") from None


def _compile_symbolic(candidate, quantity: str) -> Callable:
    import sympy as sp

    from theory.symbolic import symbols as S

    def parse(item):
        if isinstance(item, str):
            return parse_formula(item)
        if isinstance(item, (sp.Basic, sp.MatrixBase, int, float)) and not isinstance(item, bool):
            return sp.sympify(item, strict=True)  # already an expression: nothing to evaluate
        raise ValueError(f"a formula candidate must be a callable, a string or a SymPy "
                         f"expression; got {type(item).__name__}")

    if quantity == "flow":
        if not isinstance(candidate, (tuple, list)) or len(candidate) != 2:
            raise ValueError("a symbolic flow candidate must be a pair (dr/dt, dtheta/dt)")
        exprs = [parse(item) for item in candidate]
    else:
        exprs = [parse(candidate)]
    args = (S.r, S.r_star, S.theta, S.lam)
    matrix_args = (S.u, S.v)
    cache: dict[int, Callable] = {}

    def evaluate(w: NDArray, w_star: NDArray, weight: float) -> NDArray:
        d = w.shape[0]
        if d not in cache:
            concrete = [e.subs(S.n, d) if isinstance(e, sp.Basic) else e for e in exprs]
            cache[d] = sp.lambdify(args + matrix_args, concrete, modules="numpy")
        r, r_star = np.linalg.norm(w), np.linalg.norm(w_star)
        v, u = w / r, w_star / r_star
        angle = 2.0 * math.atan2(np.linalg.norm(v - u), np.linalg.norm(v + u))
        values = cache[d](r, r_star, angle, weight, u[:, None], v[:, None])
        if quantity == "flow":
            return np.array([float(np.squeeze(x)) for x in values])
        value = np.asarray(values[0], dtype=float)
        if quantity == "gradient" and value.shape == (d, 1):
            value = value[:, 0]  # n×1 matrix expression -> vector
        return value

    return evaluate


def _as_evaluator(candidate, quantity: str) -> Callable:
    if callable(candidate) and not hasattr(candidate, "free_symbols"):
        return lambda w, w_star, weight: np.asarray(candidate(w, w_star), dtype=float)
    return _compile_symbolic(candidate, quantity)


def _shape(quantity: str, d: int) -> tuple[int, ...]:
    return {"loss": (), "gradient": (d,), "hessian": (d, d), "flow": (2,)}[quantity]


def _floor(quantity: str, w: NDArray, w_star: NDArray) -> float:
    r, r_star = float(np.linalg.norm(w)), float(np.linalg.norm(w_star))
    return {"loss": 1e-6 * (r**2 + r_star**2), "gradient": 1e-10 * (r + r_star)}.get(
        quantity, 1e-12)


def _relative(a: NDArray, b: NDArray, floor: float) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), floor))


@contextlib.contextmanager
def _private_hypothesis_storage():
    """Point hypothesis's storage (its constants cache; the database is off) at a private
    temporary folder for the search, then back: a check never writes .hypothesis/ into the
    user's working folder."""
    from hypothesis import configuration

    previous = getattr(configuration, "__hypothesis_home_directory", None)
    with tempfile.TemporaryDirectory(prefix="sobolev-verify-hypothesis-") as private:
        configuration.set_hypothesis_home_dir(private)
        try:
            yield
        finally:
            configuration.set_hypothesis_home_dir(previous)


def check_formula(candidate, *, quantity: str, loss: str | None = None,
                  convention: str = "expected",
                  sobolev_weight: float = 1.0, rtol: float = 1e-8,
                  dims: tuple[int, ...] = (2, 3, 5, 8), n_random: int = 150, n_search: int = 100,
                  min_points: int = MIN_POINTS, seed: int = 0) -> FormulaVerdict:
    """Check a one-neuron formula for ``quantity`` of ``loss`` in ``convention`` (see module).

    Args:
        candidate: callable (w, w_star) -> value, or a SymPy expression / string (module doc).
        quantity: "loss", "gradient", "hessian" or "flow" (flow: (ṙ, θ̇) under ẇ = −F).
        loss: required, "l2", "sobolev" or "h1": the loss whose formula the candidate is
            compared with (named in the verdict). convention, sobolev_weight: as in
            theory.population_gradient.
        rtol: the largest relative error (module doc) accepted for "holds".
        dims: dimensions d >= 2 to sample. n_random, n_search: seeded random and hypothesis points.
        min_points: points needed before "holds" (raised to MIN_POINTS if smaller).
    Returns:
        FormulaVerdict with .holds, .max_relative_error, .worst, .n_points and provenance.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {QUANTITIES}; got {quantity!r}")
    if loss is None:
        raise ValueError("loss is required: pass loss='l2', 'sobolev' or 'h1', the loss whose "
                         f"{quantity} the candidate is compared with")
    check_loss(loss)
    check_convention(convention)
    weight = check_sobolev_weight(sobolev_weight)
    if not (isinstance(rtol, (int, float)) and math.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol must be a finite number > 0; got {rtol!r}")
    if not dims or any(int(d) < 2 for d in dims):
        raise ValueError(f"dims must be a non-empty tuple of dimensions >= 2; got {dims!r}")
    for label, count in (("n_random", n_random), ("n_search", n_search)):
        if not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"{label} must be a non-negative integer; got {count!r}")
    min_points = max(int(min_points), MIN_POINTS)
    evaluate = _as_evaluator(candidate, quantity)

    state: dict[str, Any] = {"n": 0, "skipped": 0, "err": 0.0, "err_derived": 0.0,
                             "routes": 0.0, "worst": None}

    def probe(d: int, r: float, r_star: float, angle: float, rotation_seed: int) -> float:
        w, w_star = _configuration(d, r, r_star, angle, rotation_seed)
        try:
            ref = _reference("theory", quantity, loss, convention, weight, w, w_star)
            derived = _reference("derived", quantity, loss, convention, weight, w, w_star)
        except theory.NonDifferentiableError:
            state["skipped"] += 1
            return 0.0
        floor = _floor(quantity, w, w_star)
        try:
            value = evaluate(w, w_star, weight)
            if value.shape != _shape(quantity, d):
                raise ValueError(f"candidate returned shape {value.shape}; expected "
                                 f"{_shape(quantity, d)} for the {quantity} in d = {d}")
            err = _relative(value, ref, floor) if np.all(np.isfinite(value)) else math.inf
            err_derived = (_relative(value, derived, floor)
                           if np.all(np.isfinite(value)) else math.inf)
        except ValueError:
            raise
        except Exception as exc:  # the candidate's own failure is a failing point
            value, err, err_derived = f"raised {type(exc).__name__}: {exc}", math.inf, math.inf
        state["n"] += 1
        state["routes"] = max(state["routes"], _relative(derived, ref, floor))
        state["err_derived"] = max(state["err_derived"], err_derived)
        if state["worst"] is None or err > state["err"]:
            state["err"] = err
            state["worst"] = {"d": d, "r": r, "r_star": r_star, "theta": angle, "w": w,
                              "w_star": w_star, "candidate": value, "reference": ref,
                              "relative_error": err}
        return err

    rng = np.random.default_rng(seed)
    for index, (angle, (r, r_star), d) in enumerate(
            (a, n, d) for a in NEAR_DEGENERATE_ANGLES for n in _GRID_NORMS for d in (2, 3)):
        probe(d, r, r_star, angle, seed * 7919 + index)

    def random_points(count: int) -> None:
        for _ in range(count):
            d = int(rng.choice(dims))
            r, r_star = 10 ** rng.uniform(-1, 1, size=2)
            kind = rng.integers(3)
            if kind == 0:
                angle = 10 ** rng.uniform(-6, -1)
            elif kind == 1:
                angle = math.pi - 10 ** rng.uniform(-6, -1)
            else:
                angle = rng.uniform(1e-6, math.pi - 1e-6)
            probe(d, float(r), float(r_star), float(angle), int(rng.integers(2**31)))

    random_points(n_random)
    search = f"hypothesis ({n_search} examples, target = relative error)"
    try:
        from hypothesis import HealthCheck, Phase, given, settings, target
        from hypothesis import strategies as st
    except ImportError:
        search = "random (hypothesis not installed)"
        random_points(n_search)
    else:
        angles = st.one_of(
            st.floats(1e-6, math.pi - 1e-6),
            st.floats(-6, -1).map(lambda t: 10**t),
            st.floats(-6, -1).map(lambda t: math.pi - 10**t),
        )

        if n_search > 0:

            @settings(max_examples=n_search, deadline=None, database=None, derandomize=True,
                      phases=(Phase.generate, Phase.target),
                      suppress_health_check=list(HealthCheck))
            @given(st.sampled_from(list(dims)), st.floats(-1, 1), st.floats(-1, 1), angles,
                   st.integers(0, 2**31 - 1))
            def search_points(d, log_r, log_r_star, angle, rotation_seed):
                err = probe(d, 10**log_r, 10**log_r_star, angle, rotation_seed)
                target(min(err, 1e300), label="relative error")

            with _private_hypothesis_storage():
                search_points()

    notes = []
    if state["n"] < min_points:
        status = "fails" if state["err"] > rtol else "inconclusive"
        notes.append(f"only {state['n']} points compared (< {min_points}); "
                     "a 'holds' verdict needs more (raise n_random / n_search)")
    elif state["routes"] > ROUTE_RTOL:
        status = "inconclusive"
        notes.append("the theory and derived routes disagree; the reference is in doubt")
    else:
        status = "holds" if state["err"] <= rtol else "fails"
    if status == "fails":
        notes.append(f"compared with the {quantity} of loss {loss!r} ({convention} convention, "
                     f"λ = {weight:g}); a correct formula for another loss or convention fails "
                     "here: check loss= and convention=")
    return FormulaVerdict(status, quantity, loss, convention, weight, float(rtol), state["n"],
                          min_points, state["err"], state["err_derived"], state["routes"],
                          state["worst"], search, state["skipped"], notes)
