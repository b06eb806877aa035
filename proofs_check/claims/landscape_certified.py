r"""Certified landscape claims: spurious minima of l2, and what the h1 field does near them.

Relu student, orthonormal teacher W* = I_k, K = K* = d = k, x ~ N(0, I_k), λ = 1. The points
are the census' (numerics.landscape): the first spurious l2 minimum of seed 0 at each k and the
end of h1 descent from it, stored in proofs_check/data/landscape_points.json with their
provenance (proofs_check.analysis.landscape_points). Each is polished by Newton's method in
float64 and proved on an explicit box B = W̃ + [−r, r]^{k×k} in python-flint's Arb ball
arithmetic (proofs_check.analysis.landscape_certificate): Krawczyk existence and uniqueness of
the zero, then its type (positive definite Hessian enclosure; Lyapunov certificate for the
non-symmetric h1 Jacobian), the l2 loss enclosure against Safran & Shamir's 1e-3, and
enclosures of the exact h1 gradient and of the h1 field that exclude 0.

One gather (cached) serves the three claims: k = 6 always; with quick=False also the widths of
:data:`FULL_WIDTHS` (under half a minute in all on one core; larger k on demand:
``sobolev-verify certify-minimum --width k``).
"""

from __future__ import annotations

import functools
from typing import Any

import flint

from proofs_check.analysis.enclosures import DEFAULT_PREC
from proofs_check.analysis.landscape_certificate import (
    SPURIOUS_LOSS,
    certify_width,
    lower_text,
)
from proofs_check.analysis.landscape_points import POINTS_FILE, load_points
from proofs_check.claims import Verdict, register
from proofs_check.claims._evidence import headline, headline_or

QUICK_WIDTHS = (6,)
#: Widths certified by the full `check` (26 s in all for these in
#: docs/results/landscape_certificates.json; k = 13…20 on demand with certify-minimum).
FULL_WIDTHS = (6, 7, 8, 9, 10, 11, 12)
_STATUSES = ("proved", "fails", "inconclusive")


def _points_by_width() -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for record in load_points(POINTS_FILE):
        out.setdefault(record["width"], {})[record["role"]] = record
    return out


@functools.cache
def gather(quick: bool) -> dict[str, Any]:
    """Certificates of the stored points at each width of the plan (JSON-ready)."""
    points = _points_by_width()
    widths = QUICK_WIDTHS if quick else FULL_WIDTHS
    per_k, missing = [], []
    for k in widths:
        entry = points.get(k, {})
        if "l2-spurious-minimum" not in entry or "h1-stable-equilibrium" not in entry:
            missing.append(k)
            continue
        result = certify_width(entry["l2-spurious-minimum"]["W"],
                               entry["h1-stable-equilibrium"]["W"])
        record = result.as_dict()
        record["provenance"] = entry["l2-spurious-minimum"]["produced_by"]
        per_k.append(record)
    return {"per_k": per_k, "missing_widths": missing, "threshold": SPURIOUS_LOSS,
            "arithmetic": f"python-flint {flint.__version__} (FLINT/Arb) ball arithmetic, "
                          f"{DEFAULT_PREC}-bit midpoints",
            "points_file": "proofs_check/data/landscape_points.json",
            "seeds": "census seed 0 (see each point's provenance); the proofs are deterministic"}


def _ks(items: list[dict[str, Any]]) -> str:
    return ", ".join(str(item["k"]) for item in items) or "none"


def _k_range(items: list[dict[str, Any]]) -> str:
    ks = sorted(item["k"] for item in items)
    if ks and ks == list(range(ks[0], ks[-1] + 1)) and len(ks) > 2:
        return f"k = {ks[0]}…{ks[-1]}"
    return f"k = {', '.join(map(str, ks))}" if ks else "no k"


def _undecided_headline(evidence: dict[str, Any], key: str) -> str:
    per_k = evidence["per_k"]
    open_ks = [item for item in per_k if item[key]["status"] != "proved"] if key else []
    missing = evidence.get("missing_widths") or []
    if open_ks:
        return headline_or(f"not proved at {_k_range(open_ks)}", "not proved at some k")
    if missing:
        return headline_or(f"no stored point for k = {', '.join(map(str, missing))}",
                           "no stored point for some k")
    return headline("nothing certified")


def _radii(items: list[dict[str, Any]], key: str) -> str:
    return ", ".join(sorted({f"{item[key]['radius']:g}" for item in items}))


def _undecided(evidence: dict[str, Any], extra: list[str]) -> str:
    parts = list(extra)
    if evidence.get("missing_widths"):
        parts.append(f"no stored point for k = {', '.join(map(str, evidence['missing_widths']))}")
    return "; ".join(parts) if parts else "no width was certified"


@register(
    id="landscape-spurious-l2-minimum-certified",
    statement=("The spurious l2 minima that the census finds (relu, W* = I_k, K = K* = d = k) "
               "are strict local minima of the l2 population loss with loss >= 1e-3: each is "
               "proved on an explicit box by interval arithmetic."),
    source="Safran & Shamir (2018), 'Spurious local minima are common in two-layer ReLU "
           "neural networks' (proved for 6 <= k <= 20 by interval arithmetic); census of "
           "numerics.landscape",
    scope="k = 6 (quick) or k = 6…12, one census point per k (seed 0), Newton-polished; "
          "Krawczyk + positive-definite Hessian enclosure + loss enclosure, Arb 128-bit",
    expected="proved", verdicts=_STATUSES, gather=gather,
)
def decide_l2(evidence: dict[str, Any]) -> Verdict:
    """fails: some point is certified not a spurious minimum (a saddle, or loss < 1e-3);
    proved: every width of the plan has a stored point and all are proved; else inconclusive."""
    per_k = evidence["per_k"]
    failed = [item for item in per_k if item["l2"]["status"] == "fails"]
    if failed:
        item = failed[0]
        return Verdict("fails", f"k = {item['k']}: {item['l2']['statement']}",
                       evidence=evidence, counterexample={"k": item["k"], **item["l2"]},
                       headline=headline(f"k = {item['k']}: certified not a spurious minimum"))
    proved = [item for item in per_k if item["l2"]["status"] == "proved"]
    if per_k and len(proved) == len(per_k) and not evidence.get("missing_widths"):
        low = min(proved, key=lambda i: i["l2"]["l2_loss"][0])
        flat = min(proved, key=lambda i: i["l2"]["margin"])
        return Verdict("proved", f"spurious strict local minima of l2 proved for k = "
                       f"{_ks(proved)} on boxes of radius {_radii(proved, 'l2')}: "
                       f"L >= {lower_text(low['l2']['l2_loss'][0], 6)} (k = {low['k']}) and "
                       f"λ_min(∇²L) >= {lower_text(flat['l2']['margin'])} (k = {flat['k']}) "
                       "on every box; "
                       f"{evidence['arithmetic']}", evidence=evidence,
                       headline=headline_or(f"spurious minima proved, {_k_range(proved)}",
                                            "spurious minima proved at every k"))
    reasons = [f"k = {i['k']}: {i['l2']['reason']}" for i in per_k
               if i["l2"]["status"] != "proved"]
    return Verdict("inconclusive", _undecided(evidence, reasons), evidence=evidence,
                   headline=_undecided_headline(evidence, "l2"))


@register(
    id="landscape-h1-spurious-stable-equilibrium-certified",
    statement=("Near each census spurious l2 minimum, the expected h1 field (what SGD on the "
               "Sobolev loss L + J follows) has a linearly stable equilibrium at l2 loss "
               ">= 1e-3: Sobolev training does not remove the trap."),
    source="landscape census of numerics.landscape (h1 descent from every spurious l2 "
           "minimum ends at a stable equilibrium); Oh, Lyu, Son (2025) on better minima",
    scope="k = 6 (quick) or k = 6…12, the end of h1 descent (expected field, λ = 1) from the "
          "census' l2 minimum, Newton-polished; Krawczyk + Lyapunov certificate (P ≻ 0, "
          "JᵀP + PJ ≻ 0 on the whole Jacobian enclosure) + l2 loss enclosure, Arb 128-bit",
    expected="proved", verdicts=_STATUSES, gather=gather,
)
def decide_h1(evidence: dict[str, Any]) -> Verdict:
    """fails: some certified h1 equilibrium has l2 loss certified below 1e-3 (not a trap);
    proved: all widths proved; else inconclusive."""
    per_k = evidence["per_k"]
    failed = [item for item in per_k if item["h1"]["status"] == "fails"]
    if failed:
        item = failed[0]
        return Verdict("fails", f"k = {item['k']}: {item['h1']['statement']}",
                       evidence=evidence, counterexample={"k": item["k"], **item["h1"]},
                       headline=headline(f"k = {item['k']}: the h1 equilibrium is not a trap"))
    proved = [item for item in per_k if item["h1"]["status"] == "proved"]
    if per_k and len(proved) == len(per_k) and not evidence.get("missing_widths"):
        low = min(proved, key=lambda i: i["h1"]["l2_loss"][0])
        slow = min(proved, key=lambda i: i["h1"]["real_part_bound"])
        return Verdict("proved", f"linearly stable equilibria of the expected h1 field at "
                       f"spurious l2 loss proved for k = {_ks(proved)} on boxes of radius "
                       f"{_radii(proved, 'h1')}: l2 loss >= "
                       f"{lower_text(low['h1']['l2_loss'][0], 6)} "
                       f"(k = {low['k']}) and every Jacobian eigenvalue has Re μ >= "
                       f"{lower_text(slow['h1']['real_part_bound'])} (k = {slow['k']}; Lyapunov "
                       f"certificate) on every box; {evidence['arithmetic']}",
                       evidence=evidence,
                       headline=headline_or(f"stable h1 traps proved, {_k_range(proved)}",
                                            "stable h1 traps proved at every k"))
    reasons = [f"k = {i['k']}: {i['h1']['reason']}" for i in per_k
               if i["h1"]["status"] != "proved"]
    return Verdict("inconclusive", _undecided(evidence, reasons), evidence=evidence,
                   headline=_undecided_headline(evidence, "h1"))


@register(
    id="landscape-h1-trap-not-h1-critical-point",
    statement=("The h1 traps are not critical points of the h1 loss L + J itself (its exact "
               "gradient has no zero on the trap's certified box), and the spurious l2 minima "
               "are not equilibria of the expected h1 field."),
    source="landscape census of numerics.landscape (‖∇(L + λJ)‖ = 0.28–0.46 at the h1 "
           "equilibria for k = 7…12 in float64)",
    scope="the certified boxes of the two claims above (k = 6, or 6…12); exact h1 gradient and "
          "expected h1 field enclosed in Arb on them",
    expected="proved", verdicts=_STATUSES, gather=gather,
)
def decide_trap(evidence: dict[str, Any]) -> Verdict:
    """fails: a zero of the exact h1 gradient (at the trap) or of the h1 field (at the l2
    minimum) is proved by Krawczyk where an exclusion failed; proved: at every width both
    enclosures exclude 0; else inconclusive."""
    per_k = evidence["per_k"]
    for item in per_k:
        for key, what in (("exact_zero_at_h1_equilibrium", "the exact h1 gradient has a zero "
                           "in the h1 trap's box"),
                          ("h1_zero_at_l2_minimum", "the h1 field has a zero in the l2 "
                           "minimum's box")):
            found = item.get(key)
            if found and found["proved"]:
                return Verdict("fails", f"k = {item['k']}: {what} (Krawczyk, r = "
                               f"{found['radius']:g})", evidence=evidence,
                               counterexample={"k": item["k"], key: found},
                               headline=headline(f"k = {item['k']}: a zero proved in the box"))
    done = [item for item in per_k
            if (item["exact_h1_gradient_at_h1_equilibrium"] or {}).get("excluded")
            and (item["h1_field_at_l2_minimum"] or {}).get("excluded")]
    if per_k and len(done) == len(per_k) and not evidence.get("missing_widths"):
        exact = min(done, key=lambda i: i["exact_h1_gradient_at_h1_equilibrium"]["norm_lower"])
        field = min(done, key=lambda i: i["h1_field_at_l2_minimum"]["norm_lower"])
        return Verdict("proved", f"no critical point of L + J in the h1 traps' boxes and no h1 "
                       f"equilibrium in the l2 minima's boxes, k = {_ks(done)}: ‖∇(L + J)‖_F >= "
                       f"{lower_text(exact['exact_h1_gradient_at_h1_equilibrium']['norm_lower'])} "
                       f"(k = {exact['k']}) and ‖F_h1‖_F >= "
                       f"{lower_text(field['h1_field_at_l2_minimum']['norm_lower'])} "
                       f"(k = {field['k']}) "
                       f"on every box; {evidence['arithmetic']}", evidence=evidence,
                       headline=headline_or(f"no h1 critical point in the traps, {_k_range(done)}",
                                            "no h1 critical point in the traps"))
    reasons = []
    for item in per_k:
        for key in ("exact_h1_gradient_at_h1_equilibrium", "h1_field_at_l2_minimum"):
            value = item[key]
            if value is None:
                reasons.append(f"k = {item['k']}: no certified box for {key.replace('_', ' ')}")
            elif not value["excluded"]:
                reasons.append(f"k = {item['k']}: {key.replace('_', ' ')}: {value['reason']}")
    return Verdict("inconclusive", _undecided(evidence, reasons), evidence=evidence,
                   headline=headline_or(f"exclusion not proved: {len(reasons)} case(s)",
                                        "exclusion not proved")
                   if reasons else _undecided_headline(evidence, ""))
