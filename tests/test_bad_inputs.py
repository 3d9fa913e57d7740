"""Bad inputs over the CLI and the workspace (the MCP side: tests/server/test_bad_inputs.py).

Every case must end in a message that names what was wrong and what is allowed:
exit status 2 for the CLI, an error result for MCP; never a traceback, a hang
(each case runs under a timeout) or a silent acceptance (nothing drawn or stored).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from line_mcp.cli import main
from tests import fakes

ROOT = Path(__file__).resolve().parents[1]
FAKE = ["--layer", "colours", "--device", "cpu"]
for _role in ("target", "generator", "proposer", "embedder", "control"):
    FAKE += [f"--{_role}", "fake"]
TIMEOUT_S = 30.0


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(argv)`` in a thread that must finish within TIMEOUT_S (a hang fails)."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(main(argv)), daemon=True)
    thread.start()
    thread.join(TIMEOUT_S)
    assert not thread.is_alive(), f"line-mcp {' '.join(argv)} hung for {TIMEOUT_S} s"
    out = capsys.readouterr()
    return result[0], out.out, out.err


def assert_clear_refusal(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.splitlines()[-1].startswith("line-mcp: error: "), err
    for word in words:
        assert word in err, err


WORDS_12 = "one two three four five six seven eight nine ten eleven twelve"
BAD_CONCEPTS = [
    ("a\x00b", "control or non-printable"),
    ("\x07bell", "control or non-printable"),
    ("\x1b[31mred\x1b[0m", "control or non-printable"),
    ("   ", "empty (or only whitespace)"),
    ("\t\n", "empty (or only whitespace)"),
    (WORDS_12, "has 12 words; at most 3 are allowed"),
    ("<b>cat</b>", "markup"),
    ("{{concept}}", "markup"),
    ("猫", "not English"),
]


# --- the CLI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("concept", "reason"), BAD_CONCEPTS)
def test_draw_refuses_a_bad_concept(fake_backends, tmp_path, capsys, concept, reason):
    code, out, err = run_cli(["draw", concept, "--workspace", str(tmp_path), *FAKE], capsys)
    assert_clear_refusal(code, err, reason, "a concept is" if "words" not in reason else "")
    assert out == "" and fakes.FakeGenerator.calls == 0


@pytest.mark.parametrize(("concept", "reason"), BAD_CONCEPTS[:6])
def test_evaluate_label_refuses_a_bad_concept(fake_backends, tmp_path, capsys, concept, reason):
    argv = ["evaluate", "--label", concept, "--neurons", "0", "--workspace", str(tmp_path)]
    code, _, err = run_cli([*argv, *FAKE], capsys)
    assert_clear_refusal(code, err, reason)
    assert fakes.FakeGenerator.calls == 0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run-loop", "--neurons", "0", "--device", "bogus"], ("device: device 'bogus'", "cpu")),
        (["describe", "--device", "cuda:x"], ("device 'cuda:x'", "cuda:N")),
        (
            ["run-loop", "--neurons", "0", "--images-per-concept", "1000000000"],
            ("images_per_concept", "64"),
        ),
        (["run-loop", "--neurons", "0", "--images-per-concept", "0"], ("images_per_concept",)),
        (["run-loop", "--neurons", "0", "--iterations", "100000"], ("iterations", "1000")),
        (["run-loop", "--neurons", "0", "--max-concept-words", "50"], ("max_concept_words",)),
        (["run-loop", "--neurons", "0-99999999"], ("names more than 100000 neurons",)),
        (["run-loop", "--neurons", "99999"], ("out of range",)),
        (["run-loop", "--neurons", "a-b"], ("bad neuron list part", "3,17,40-45")),
        (["run-loop", "--neurons", "0", "--concepts", "0"], ("--concepts must be 1 or more",)),
        (["draw", "cat", "--images", "100000"], ("--images must be 1 to 64",)),
        (
            ["evaluate", "--label", "cat", "--neurons", "0", "--eval-images", "1000000000"],
            ("images_per_concept", "1000"),
        ),
        (["evaluate", "--label", "cat"], ("--label needs --neurons",)),
        (["report", "--run", "../../etc/passwd"], ("is not a run id",)),
        (["report", "--run", "nope"], ("no run 'nope'",)),
    ],
)
def test_cli_refuses_bad_options(fake_backends, tmp_path, capsys, argv, words):
    code, _, err = run_cli([*argv, "--workspace", str(tmp_path), *_backend_flags(argv)], capsys)
    assert_clear_refusal(code, err, *words)
    assert not list(tmp_path.glob("runs/*.json")) and fakes.FakeGenerator.calls == 0


def _backend_flags(argv: list[str]) -> list[str]:
    """The fake backends, and the device unless the case sets its own."""
    if argv[0] == "report":
        return []
    flags = list(FAKE)
    if "--device" in argv:
        index = flags.index("--device")
        del flags[index : index + 2]
    return flags


@pytest.mark.parametrize("port", ["70000", "0", "-1"])
def test_serve_http_refuses_a_port_out_of_range(tmp_path, port):
    # A subprocess: an accepted port would serve forever, which the timeout turns into a failure.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "line_mcp", "serve", "--http", "--port", port]
    command += ["--plugin", "tests.fakes", "--workspace", str(tmp_path), *FAKE, "--no-preload"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=ROOT, env=env
    )
    assert_clear_refusal(done.returncode, done.stderr, "--port must be 1 to 65535", port)
    assert done.stdout == ""


@pytest.mark.parametrize("command", ["describe", "run-loop", "report", "draw"])
def test_an_unwritable_workspace_is_a_message(fake_backends, tmp_path, capsys, command):
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = {
        "describe": ["describe", *FAKE],
        "run-loop": ["run-loop", "--neurons", "0", *FAKE],
        "report": ["report"],
        "draw": ["draw", "cat", *FAKE],
    }[command]
    code, _, err = run_cli([*argv, "--workspace", str(blocker / "ws")], capsys)
    # report reads a workspace and never creates one
    reason = "no workspace at" if command == "report" else "not writable"
    assert_clear_refusal(code, err, reason, str(blocker / "ws"))


@pytest.mark.parametrize(
    "argv",
    [
        ["run-loop", "--neurons", "0", "--iterations", "1", *FAKE, "--summary-file", "{bad}/s"],
        ["draw", "cat", *FAKE, "--out", "{bad}/pictures"],
        ["evaluate", "--csv", "{bad}/labels.csv", *FAKE],
    ],
)
def test_a_path_that_cannot_be_used_is_a_message(fake_backends, tmp_path, capsys, argv):
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = [a.replace("{bad}", str(blocker)) for a in argv]
    code, _, err = run_cli([*argv, "--workspace", str(tmp_path / "ws")], capsys)
    assert_clear_refusal(code, err, str(blocker))


def test_a_cache_that_is_not_a_database_is_set_aside_and_the_run_goes_on(
    fake_backends, tmp_path, capsys
):
    (tmp_path / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    argv = ["run-loop", "--neurons", "0", "--iterations", "1", "--workspace", str(tmp_path)]
    code, out, err = run_cli([*argv, *FAKE], capsys)
    assert code == 0, err
    assert "cache.sqlite is not a usable SQLite database" in err and "moved aside" in err
    assert "Traceback" not in err and "neuron  label" in out
    (aside,) = tmp_path.glob("cache.sqlite.damaged-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:  # a new, working cache
        assert db.execute("SELECT count(*) FROM images").fetchone()[0] > 0


# --- the workspace ----------------------------------------------------------------------------


def test_a_workspace_manifest_that_is_not_json_is_a_message(tmp_path, capsys):
    (tmp_path / "workspace.json").write_text("{not json")
    code, _, err = run_cli(["report", "--workspace", str(tmp_path)], capsys)
    assert_clear_refusal(code, err, "workspace.json", "manifest")
