"""`gosidecar complete FILE:LINE:COL [--json]` through run_complete_cli."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gosidecar.completion import run_complete_cli
from gosidecar.settings import AiSettings

MAIN_GO = Path(__file__).resolve().parents[2] / "examples" / "workspace" / "main.go"


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("gosidecar complete: ")
    return captured.err


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("/no/such/file.go:1:1", "no such file"),
        (f"{MAIN_GO}:999:1", "out of range"),
        (f"{MAIN_GO}:1:999", "out of range"),
        (f"{MAIN_GO}:0:1", "out of range"),
        (f"{MAIN_GO}:x:1", "FILE:LINE:COL"),
        (str(MAIN_GO), "FILE:LINE:COL"),
    ],
)
def test_bad_input_is_one_line_on_stderr(location: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_complete_cli(location, False, AiSettings()) == 1
    assert message in one_line_error(capsys)


def test_model_that_will_not_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"not a model at all" * 100)
    assert run_complete_cli(f"{MAIN_GO}:20:15", False, AiSettings(modelPath=str(model))) == 1
    assert "not a GGUF file" in one_line_error(capsys)


@pytest.mark.model
def test_prints_the_suggestion_as_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Line 20 half-typed: `\t\tfmt.Fprintln(os.` and nothing after the cursor yet."""
    half_typed = tmp_path / "main.go"
    lines = MAIN_GO.read_text().split("\n")
    lines[19] = lines[19][: lines[19].index("os.") + 3]
    half_typed.write_text("\n".join(lines))
    location = f"{half_typed}:20:{len(lines[19]) + 1}"
    settings = AiSettings(timeBudgetMs=120_000)  # both runs must end the same way, not by the clock
    assert run_complete_cli(location, True, settings) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["line"] == 20 and report["column"] == len(lines[19]) + 1
    assert report["text"].startswith("Stderr")
    assert report["ai"]["modelQuantization"] == "Q4_K_M"
    assert run_complete_cli(location, False, settings) == 0
    assert capsys.readouterr().out == report["text"] + "\n"
