import re

from line_mcp.config import LoopConfig
from line_mcp.loop import label_neuron
from line_mcp.report import run_page, write_reports
from line_mcp.service import LineService

CONFIG = LoopConfig(iterations=2, seed=4)


def test_pages_show_the_board_its_images_and_every_step(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path / "ws")
    records = [label_neuron(service, neuron, CONFIG) for neuron in (0, 1)]
    index = write_reports(service.workspace, records, tmp_path / "pages")

    listing = index.read_text()
    for record in records:
        assert f'href="{record.run_id}.html"' in listing
        assert f">{record.label.concept}</a>" in listing
        page = (tmp_path / "pages" / f"{record.run_id}.html").read_text()
        assert f"neuron {record.neuron} of colours: {record.label.concept}" in page
        for step in record.steps:
            assert f"<td>{step.step}</td><td>{step.concept}</td>" in page
        # Every image behind the final board and every step's images are inlined.
        board = record.scoreboard()
        drawn = {e.concept: len(record.init.images.get(e.concept, [])) for e in board}
        for step in record.steps:
            drawn[step.concept] = len(step.images)
        shown = sum(drawn[e.concept] for e in board) + sum(len(s.images) for s in record.steps)
        assert len(re.findall(r'<img src="data:image/png;base64,', page)) == shown > 0


def test_concepts_and_reasons_are_escaped(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    record = label_neuron(service, 0, CONFIG)
    odd = "<b>fish</b> & chips"
    steps = [
        record.steps[0].model_copy(update={"concept": odd}),
        record.steps[1].model_copy(update={"concept": None, "skipped": "<script>x</script>"}),
    ]
    page = run_page(service.workspace, record.model_copy(update={"steps": steps}))
    assert "&lt;b&gt;fish&lt;/b&gt; &amp; chips" in page
    assert "skipped: &lt;script&gt;x&lt;/script&gt;" in page
    assert "<b>" not in page and "<script" not in page


def test_image_titles_carry_provenance_and_not_drawable_steps_say_why(fake_backends, tmp_path):
    from line_mcp.core.provenance import DrawnObject, Provenance, SourceMatch

    service = LineService(fake_backends, tmp_path)
    record = label_neuron(service, 0, CONFIG)
    match = SourceMatch(
        word="puppy", image_id="art4apps:animals/dog", bank="art4apps", label="dog",
        similarity=0.85, via="hypernym",
    )  # fmt: skip
    source = Provenance(concept="red puppy", objects=[DrawnObject(match=match, colour="red")])
    first = record.steps[0]
    images = [first.images[0].model_copy(update={"source": source.model_dump(mode="json")})]
    steps = [
        first.model_copy(update={"images": images}),
        record.steps[1].model_copy(
            update={
                "score": None,
                "images": [],
                "not_drawable": True,
                "skipped": "not drawable: concept 'x' is not drawable",
            }
        ),
    ]
    page = run_page(service.workspace, record.model_copy(update={"steps": steps}))
    assert "drawn from &#x27;dog&#x27; (art4apps:animals/dog, hypernym of &#x27;puppy&#x27;" in page
    assert f'{record.steps[1].concept} <span class="muted">not drawable: concept' in page


def test_labels_and_the_index_accumulate_over_calls_and_show_evaluations(
    fake_backends, tmp_path, capsys
):
    import json as json_

    from line_mcp.cli import main as cli_main

    base = ["run-loop", "--iterations", "1", "--workspace", str(tmp_path), "--layer", "colours"]
    for role in ("target", "generator", "proposer", "embedder", "control"):
        base += [f"--{role}", "fake"]
    assert cli_main([*base, "--neurons", "0", "--device", "cpu"]) == 0
    assert cli_main([*base, "--neurons", "2", "--device", "cpu"]) == 0
    summary = json_.loads((tmp_path / "labels-colours.json").read_text())
    assert [row["neuron"] for row in summary["labels"]] == [0, 2]  # the first call's is kept
    assert len(summary["this_call"]) == 1
    index = (tmp_path / "reports" / "index.html").read_text()
    run_ids = [row["run_id"] for row in summary["labels"]]
    assert all(f"{run_id}.html" in index for run_id in run_ids)
    page = tmp_path / "reports" / f"{run_ids[0]}.html"
    assert "not graded yet" in page.read_text()

    label = summary["labels"][0]["label"]
    fake = ["--target", "fake", "--layer", "colours", "--device", "cpu"]
    fake += ["--eval-generator", "fake", "--eval-control", "fake", "--eval-images", "5"]
    evaluate = ["evaluate", "--run", run_ids[0], "--workspace", str(tmp_path), *fake]
    capsys.readouterr()
    assert cli_main(evaluate) == 0
    out = capsys.readouterr().out
    assert "run pages with these grades" in out
    html = page.read_text()
    assert "Held-out evaluation (CoSy)" in html and f"{label} (this run's label)" in html
    assert "CoSy AUC" in (tmp_path / "reports" / "index.html").read_text()
