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
