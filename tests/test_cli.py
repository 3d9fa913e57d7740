import json
import os
import subprocess
import sys

import pytest

from line_mcp.cli import main, parse_neurons


def test_parse_neurons():
    assert parse_neurons("3,17,40-42") == [3, 17, 40, 41, 42]
    assert parse_neurons("5,5") == [5]
    for bad in ("x", "3-1", "1,,2", "-4"):
        with pytest.raises(ValueError, match="neuron"):
            parse_neurons(bad)


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys; from line_mcp.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('torch', 'transformers', 'diffusers', 'numpy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_loop_with_fakes_writes_table_and_summary(fake_backends, tmp_path, capsys):
    args = ["run-loop", "--neurons", "0-1", "--iterations", "2", "--workspace", str(tmp_path)]
    for role in ("target", "generator", "proposer", "embedder", "control"):
        args += [f"--{role}", "fake"]
    assert main([*args, "--layer", "colours", "--device", "cpu"]) == 0
    out = capsys.readouterr()
    assert "neuron  label" in out.out and "labels were generated" in out.out
    summary = json.loads((tmp_path / "labels-colours.json").read_text())
    assert [row["neuron"] for row in summary["labels"]] == [0, 1]
    assert all(row["status"] == "finished" for row in summary["labels"])
    assert "step 2:" in out.err
    pages = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert pages == sorted(["index.html", *(f"{row['run_id']}.html" for row in summary["labels"])])

    assert main(["report", "--workspace", str(tmp_path), "--output", str(tmp_path / "out")]) == 0
    assert "2 run page(s)" in capsys.readouterr().out
    assert main(["report", "--workspace", str(tmp_path), "--run", "nope"]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_run_loop_reports_neurons_progress_and_quiet_silences_it(fake_backends, tmp_path, capsys):
    args = ["run-loop", "--neurons", "0-1", "--iterations", "1", "--workspace", str(tmp_path)]
    for role in ("target", "generator", "proposer", "embedder", "control"):
        args += [f"--{role}", "fake"]
    args += ["--layer", "colours", "--device", "cpu"]
    assert main(args) == 0
    err = capsys.readouterr().err  # not a terminal: plain lines, no bar redraws
    assert "[line-mcp] neurons: 2/2" in err and "\r" not in err
    assert main([*args, "--quiet", "--workspace", str(tmp_path / "quiet")]) == 0
    out = capsys.readouterr()
    assert "[line-mcp]" not in out.err and "neuron  label" in out.out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--neurons", "9"], "out of range"),
        (["--neurons", "0", "--proposer", "nope:x"], "unknown proposer backend 'nope'"),
        (["--neurons", "0", "--generator", "fake?size=3"], "Allowed options"),
        (["--neurons", "0", "--iterations", "-1"], "iterations"),
    ],
)
def test_bad_input_exits_2_with_a_message(fake_backends, tmp_path, capsys, extra, message):
    args = ["run-loop", "--workspace", str(tmp_path), "--layer", "colours", "--device", "cpu"]
    for role in ("target", "generator", "proposer", "embedder", "control"):
        args += [f"--{role}", "fake"]
    assert main(args + extra) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("runs/*.json"))


def test_unwritable_workspace(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["describe", "--workspace", str(blocker / "ws")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_every_config_field_is_an_option_with_its_description():
    from line_mcp.cli import _backends, _loop_config, build_parser
    from line_mcp.config import BackendConfig, LoopConfig

    parser = build_parser()
    run = next(a for a in parser._actions if a.dest == "command").choices["run-loop"]
    options = {a.dest: a for a in run._actions}
    for model in (LoopConfig, BackendConfig):
        for name, info in model.model_fields.items():
            assert name in options, name
            assert info.description and options[name].help.startswith(info.description)
    assert options["proposal"].choices == ("auto", "llm", "guided", "hinted")
    argv = ["run-loop", "--neurons", "0", "--max-failed-steps", "5", "--angles", "top view, side"]
    argv += ["--image-prompt", "a {concept} drawn {angle} in {lighting}", "--no-summary"]
    argv += ["--free-text", "--min-control-images", "2", "--editor", "fake", "--device", "cpu"]
    args = parser.parse_args(argv)
    loop, backends = _loop_config(args), _backends(args)
    assert (loop.max_failed_steps, loop.angles, loop.summary) == (5, ("top view", "side"), False)
    assert loop.image_prompt.startswith("a {concept}") and loop.proposal_free_text
    assert loop.min_control_images == 2 and (backends.editor, backends.device) == ("fake", "cpu")
    defaults = parser.parse_args(["run-loop", "--neurons", "0"])
    assert _loop_config(defaults) == LoopConfig() and _backends(defaults) == BackendConfig()


def test_presets_are_typed_partial_configs():
    from line_mcp.config import Preset

    with pytest.raises(ValueError, match="proposal"):
        Preset(description="x", loop={"proposal": "sometimes"})
    with pytest.raises(ValueError, match="layer"):
        Preset(description="x", backends={"layer": 3})


def test_one_table_printer(capsys):
    from line_mcp.cli import print_table

    print_table(("a", "long header"), [("wide cell", "x")])
    assert capsys.readouterr().out.splitlines() == [
        "a          long header",
        "---------  -----------",
        "wide cell  x",
    ]


def test_draw_writes_images_and_prints_their_provenance(fake_backends, tmp_path, capsys):
    fakes_args = ["--generator", "fake", "--embedder", "fake", "--workspace", str(tmp_path)]
    out = tmp_path / "pictures"
    assert main(["draw", "Teal Cat", "--images", "3", "--out", str(out), *fakes_args]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["concept"] == "Teal Cat" and printed["generator"] == "fake-generator"
    files = [image["file"] for image in printed["images"]]
    assert files == [str(out / f"teal-cat-{k}.png") for k in range(3)]
    assert all((out / f"teal-cat-{k}.png").is_file() for k in range(3))
    assert len({image["seed"] for image in printed["images"]}) == 3
    assert printed["images"][0]["source"]["colour"]  # what the generator reported
    # Seeds are the loop's: drawing again gives the same images.
    assert main(["draw", "Teal Cat", "--images", "3", "--out", str(out), *fakes_args]) == 0
    assert json.loads(capsys.readouterr().out) == printed


def test_draw_refuses_what_the_source_cannot_show(fake_backends, tmp_path, capsys):
    fakes_args = ["--generator", "fake", "--embedder", "fake", "--workspace", str(tmp_path)]
    assert main(["draw", "undrawable thing", *fakes_args]) == 2
    assert "is not drawable" in capsys.readouterr().err
    assert not (tmp_path / "draw").exists()  # nothing was written
    assert main(["draw", "cat", "--images", "0", *fakes_args]) == 2
    assert "--images must be 1 to 64" in capsys.readouterr().err


def test_stdout_carries_only_the_commands_output(fake_backends, tmp_path, capsys):
    # A backend that prints while it is built: describe's stdout must still be one JSON document.
    args = ["describe", "--workspace", str(tmp_path), "--layer", "colours", "--device", "cpu"]
    assert main([*args, "--target", "chatty"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["neurons"] == 4
    assert "Loaded pretrained weights for chatty" in out.err


def test_an_unreachable_hub_switches_to_offline(monkeypatch):
    import socket

    from line_mcp.backends import hub

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the connection is refused at once
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(hub, "_WENT_OFFLINE", False)
    assert hub.offline_unless_reachable(timeout_s=2) is True
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "cannot be reached" in str(hub.offline_error("org/model", OSError("x")))
    assert hub.offline_unless_reachable() is False  # set now: never probed again

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        monkeypatch.delenv("HF_HUB_OFFLINE")
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{listening.getsockname()[1]}")
        assert hub.offline_unless_reachable(timeout_s=2) is False
        assert "HF_HUB_OFFLINE" not in os.environ
