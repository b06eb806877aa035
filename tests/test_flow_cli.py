"""`sobolev-verify flow`: the default run yields both rates; when a window holds no samples the
message names the option that fixes it; --plot writes the requested format."""

import json

import pytest

from proofs_check.cli import main


def test_default_flow_gives_both_rates_matching_the_predicted_local_rates(capsys):
    assert main(["flow", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    rows = {row["loss"]: row for row in payload["flows"]}
    for loss in ("l2", "h1"):
        # fitted from the integrated flow vs the eigenvalue of the Jacobian at the teacher
        assert rows[loss]["rate"] is not None, rows[loss]
        assert rows[loss]["rate"] == pytest.approx(rows[loss]["predicted_rate"], rel=1e-3)


def test_short_flow_names_the_option_that_gives_a_rate(capsys):
    assert main(["flow", "--t-max", "300"]) == 0
    out = capsys.readouterr().out
    l2 = out.split("[l2]")[1].split("[h1]")[0]
    assert "fitted rate: —" in l2
    assert "--t-max" in l2 and " q " not in l2 and "gradient_tol" not in l2


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_flow_plot_writes_the_requested_format(tmp_path, capsys, suffix, magic):
    path = tmp_path / f"flow{suffix}"
    assert main(["flow", "--t-max", "50", "--plot", str(path)]) == 0
    assert path.read_bytes().startswith(magic)
    assert main(["flow", "--t-max", "50", "--plot", str(tmp_path / "flow.jpg")]) == 2


def test_flow_from_the_teacher_has_one_output_point_and_a_null_with_its_reason(capsys):
    """Converged at the start: the flow records W0 only; the loss change over consecutive output
    points is then undefined and strict JSON says why instead of printing -Infinity."""
    assert main(["flow", "--at", "teacher", "--t-max", "5", "--json"]) == 0
    out = capsys.readouterr().out
    assert "Infinity" not in out and "NaN" not in out
    for row in json.loads(out)["flows"]:
        assert row["status"] == "converged" and row["output_points"] == 1 and row["t_end"] == 0
        assert row["max_loss_increase"] is None and "one output point" in row[
            "max_loss_increase_reason"]
