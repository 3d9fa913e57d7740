"""Every tool through the SDK's in-memory client, over the fake backends."""

import base64
import io
import json
import threading
import time

import anyio
import pytest
from mcp import Client
from PIL import Image

from line_mcp.loop import label_neuron
from line_mcp.server.images import MAX_THUMBNAILS
from line_mcp.service import LineService
from tests import fakes
from tests.server.conftest import CONFIG


async def call(client, name, **arguments):
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content, result


async def call_error(client, name, **arguments):
    result = await client.call_tool(name, arguments)
    assert result.is_error
    return result.content[0].text


async def test_tool_list_has_typed_schemas(make_server):
    async with Client(make_server()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {
        "describe_target", "init_scoreboard", "get_scoreboard", "propose_concept",
        "summarize_scoreboard", "update_scoreboard", "generate_images", "get_activations",
        "score_concept", "ablate_concept", "label_neuron", "evaluate_label", "job_status",
        "job_result", "cancel_job", "label_neurons",
    }  # fmt: skip
    for tool in tools.values():
        assert tool.output_schema is not None, tool.name
        assert len(tool.description) > 80, tool.name
    neuron = tools["init_scoreboard"].input_schema["properties"]["neuron"]
    assert neuron["minimum"] == 0 and "describe_target" in neuron["description"]
    score = tools["score_concept"].input_schema["properties"]["concepts"]
    assert score["maxItems"] == 8


async def test_describe_target(make_server):
    async with Client(make_server()) as client:
        info, _ = await call(client, "describe_target")
    assert info["neurons"] == 4 and info["layer"] == "colours"
    assert info["neuron_names"] == ["red", "green", "blue", "brightness"]
    assert info["control"] == {
        "name": "fake-control", "labels": 40, "images": 80, "init_scoring": "drawn"
    }  # fmt: skip
    assert info["vocabulary_ready"] is False
    assert info["loop"]["iterations"] == 3 and info["editor"] is None


async def test_init_on_a_cold_layer_is_a_job_then_the_board_is_there(make_server):
    server = make_server()
    async with Client(server) as client:
        board, _ = await call(client, "init_scoreboard", neuron=1)
        assert board["status"] == "initialising" and board["job_id"]
        server.driver.jobs.wait(board["job_id"], timeout=30)
        job, _ = await call(client, "job_status", job_id=board["job_id"])
        assert job["status"] == "finished" and job["progress"] == 1.0
        board, _ = await call(client, "get_scoreboard", neuron=1)
        assert board["status"] == "running" and len(board["scoreboard"]) == 10
        assert board["next_step"] == 1 and "update_scoreboard" in board["next"]
        # Warm layer: another neuron initialises inline.
        other, _ = await call(client, "init_scoreboard", neuron=2)
        assert other["status"] == "running" and other["job_id"] is None


async def warm_init(client, server, neuron):
    board, _ = await call(client, "init_scoreboard", neuron=neuron)
    if board["job_id"]:
        server.driver.jobs.wait(board["job_id"], timeout=30)
    return (await call(client, "get_scoreboard", neuron=neuron))[0]


async def test_client_steps_record_origin_client_and_images(make_server):
    server = make_server()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        update, result = await call(
            client, "update_scoreboard", neuron=0, concept="bright red", reasoning="red neuron"
        )
        assert update["origin"] == "client" and update["step"] == 1
        assert update["board"]["steps_done"] == 1
        kinds = [block.type for block in result.content]
        assert kinds.count("image") == 5 and kinds.count("resource_link") == 5
        png = base64.b64decode(next(b for b in result.content if b.type == "image").data)
        assert max(Image.open(io.BytesIO(png)).size) <= 96
        record = server.driver.service.workspace.load_run(update["run_id"])
        assert record.steps[0].origin == "client" and record.steps[0].reasoning == "red neuron"
        # The same concept again is refused with the reason.
        text = await call_error(client, "update_scoreboard", neuron=0, concept="Bright  Red")
        assert "already tried" in text


async def test_propose_then_update_uses_the_pending_llm_proposal(make_server):
    server = make_server()
    async with Client(server) as client:
        await warm_init(client, server, 3)
        proposal, _ = await call(client, "propose_concept", neuron=3)
        assert proposal["concept"] and proposal["step"] == 1
        again, _ = await call(client, "propose_concept", neuron=3)  # no second LLM call
        assert again["concept"] == proposal["concept"]
        board, _ = await call(client, "get_scoreboard", neuron=3)
        assert board["pending"]["concept"] == proposal["concept"]
        update, _ = await call(client, "update_scoreboard", neuron=3, concept=proposal["concept"])
        assert update["origin"] == "llm" and update["board"]["pending"] is None
        text = await call_error(client, "summarize_scoreboard", neuron=3)
        assert "not time for the summary step" in text


def hold_proposals() -> threading.Event:
    """Make the fake proposer wait (up to 10 s) until the returned event is set."""
    release = threading.Event()

    def held(prompt, seed):
        release.wait(10)
        return f"<answer>idea {seed % 97}</answer>"

    fakes.FakeProposer.script = held
    return release


def strip_times(record):
    data = record.model_dump(mode="json")
    for key in ("created_at", "updated_at"):
        data.pop(key)
    data["init"]["seconds"] = {}
    for step in data["steps"]:
        step["seconds"], step["finished_at"] = {}, ""
    return data


async def test_tools_step_by_step_equal_the_canonical_loop(make_server, fake_backends, tmp_path):
    reference = label_neuron(LineService(fake_backends, tmp_path / "loop"), 2, CONFIG)
    server = make_server(workspace=tmp_path / "tools")
    async with Client(server) as client:
        await warm_init(client, server, 2)
        for _ in range(CONFIG.iterations):
            proposal, _ = await call(client, "propose_concept", neuron=2)
            await call(client, "update_scoreboard", neuron=2, concept=proposal["concept"])
        summary, _ = await call(client, "summarize_scoreboard", neuron=2)
        final, _ = await call(client, "update_scoreboard", neuron=2, concept=summary["concept"])
    assert final["board"]["status"] == "finished"
    record = server.driver.service.workspace.load_run(reference.run_id)
    assert strip_times(record) == strip_times(reference)


async def test_state_survives_a_restart(make_server, tmp_path):
    server = make_server()
    async with Client(server) as client:
        await warm_init(client, server, 1)
        await call(client, "update_scoreboard", neuron=1, concept="deep blue")
        proposal, _ = await call(client, "propose_concept", neuron=1)
    async with Client(make_server()) as client:  # a new process on the same workspace
        board, _ = await call(client, "get_scoreboard", neuron=1)
        assert board["steps_done"] == 1 and board["proposed"] == ["deep blue"]
        assert board["pending"]["concept"] == proposal["concept"]
        update, _ = await call(client, "update_scoreboard", neuron=1, concept=proposal["concept"])
        assert update["step"] == 2 and update["origin"] == "llm"


async def test_job_ids_outlive_a_restart(make_server):
    server = make_server()
    release = hold_proposals()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        running, _ = await call(client, "label_neuron", neuron=0)
        # A second server on the same workspace sees the job running and does not start
        # the same work again (the first one holds its lock).
        async with Client(make_server()) as other:
            status, _ = await call(other, "job_status", job_id=running["job_id"])
            assert status["status"] == "running", status
            again, _ = await call(other, "label_neuron", neuron=0)
            assert again["job_id"] == running["job_id"]
            text = await call_error(other, "job_status", job_id="../../etc/passwd")
            assert "unknown job id" in text
        release.set()
        server.driver.jobs.wait(running["job_id"], timeout=30)
        label, _ = await call(client, "label_neuron", neuron=0)
        server.driver.jobs.wait(label["job_id"], timeout=60)
        evaluation, _ = await call(client, "evaluate_label", neuron=0, images=5)
        server.driver.jobs.wait(evaluation["job_id"], timeout=60)
        before, _ = await call(client, "job_status", job_id=evaluation["job_id"])
    async with Client(make_server()) as client:
        after, _ = await call(client, "job_status", job_id=evaluation["job_id"])
        assert after == before and after["evaluation"]["images"] == 5
        finished, _ = await call(client, "job_status", job_id=label["job_id"])
        assert finished["status"] == "finished"
        result, _ = await call(client, "job_result", job_id=label["job_id"])
        assert result["status"] == "finished"


async def test_parallel_updates_do_not_corrupt_the_board(make_server):
    server = make_server()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        concepts = [f"shade {i}" for i in range(3)]
        results = {}

        async def update(concept):
            results[concept] = await client.call_tool(
                "update_scoreboard", {"neuron": 0, "concept": concept}
            )

        async with anyio.create_task_group() as group:
            for concept in concepts:
                group.start_soon(update, concept)
        assert not any(r.is_error for r in results.values())
        board, _ = await call(client, "get_scoreboard", neuron=0)
    assert board["steps_done"] == 3 and board["next_step"] == "S"
    assert sorted(board["proposed"]) == concepts
    assert len(board["scoreboard"]) == 10
    record = server.driver.service.workspace.load_run(board["run_id"])
    assert [s.step for s in record.steps] == [1, 2, 3]


async def test_generate_images_get_activations_and_score(make_server):
    server = make_server()
    workspace = server.driver.service.workspace
    async with Client(server) as client:
        drawn, result = await call(client, "generate_images", concept="teal", n_images=3)
        ids = [i["image_id"] for i in drawn["images"]]
        assert len(ids) == 3 and sum(b.type == "image" for b in result.content) == 3
        acts, _ = await call(client, "get_activations", image_ids=ids, neurons=[0, 3])
        red = fakes.colour_of("teal")[0] / 255
        assert acts["images"][0]["activations"]["0"] == pytest.approx(red, abs=0.05)
        # A file the user put into the workspace.
        (workspace.root / "uploads").mkdir()
        Image.new("RGB", (8, 8), (255, 0, 0)).save(workspace.root / "uploads" / "red.png")
        acts, _ = await call(client, "get_activations", paths=["uploads/red.png"], neurons=[0])
        assert acts["images"][0]["activations"]["0"] == pytest.approx(1.0)
        scores, _ = await call(client, "score_concept", neuron=0, concepts=["teal", "coral"])
        assert [s["concept"] for s in scores["scores"]] == ["teal", "coral"]
        teal = scores["scores"][0]
        assert teal["score"] == pytest.approx(
            sum(i["activation"] for i in teal["images"]) / CONFIG.images_per_concept
        )
        assert teal["board_rank"] is None  # no run yet
        many = [f"shade {i}" for i in range(4)]  # 4 concepts x |P| = 20 images
        _, result = await call(client, "score_concept", neuron=0, concepts=many)
        kinds = [b.type for b in result.content]
        assert kinds.count("image") == MAX_THUMBNAILS and kinds.count("resource_link") == 20
        resource = await client.read_resource(teal["images"][0]["uri"])
        png = base64.b64decode(resource.contents[0].blob)
        assert Image.open(io.BytesIO(png)).size == (16, 16)


async def test_label_neuron_job_status_result_and_cancel(make_server):
    server = make_server()
    async with Client(server) as client:
        job, _ = await call(client, "label_neuron", neuron=2)
        assert job["status"] in ("queued", "running", "finished")
        early = await call_error(client, "job_result", job_id=job["job_id"])
        assert "poll job_status" in early or "finished" in early
        server.driver.jobs.wait(job["job_id"], timeout=60)
        status, _ = await call(client, "job_status", job_id=job["job_id"])
        assert status["status"] == "finished" and status["progress"] == 1.0
        result, _ = await call(client, "job_result", job_id=job["job_id"])
        assert result["status"] == "finished" and result["label"]["concept"]
        cancelled, _ = await call(client, "cancel_job", job_id=job["job_id"])
        assert cancelled["status"] == "finished"  # too late to cancel: nothing changes


async def test_evaluate_label_grades_the_run_label_in_a_job(make_server):
    from line_mcp.evaluation.cosy import CosyEvaluator, EvaluationConfig
    from line_mcp.evaluation.labels import LabelRow

    server = make_server()
    async with Client(server) as client:
        text = await call_error(client, "evaluate_label", neuron=2)
        assert "no finished run" in text and "pass label" in text
        job, _ = await call(client, "label_neuron", neuron=2)
        server.driver.jobs.wait(job["job_id"], timeout=60)
        label = (await call(client, "job_result", job_id=job["job_id"]))[0]["label"]["concept"]

        job, _ = await call(client, "evaluate_label", neuron=2, images=6)
        assert job["kind"] == "evaluate_label"
        server.driver.jobs.wait(job["job_id"], timeout=60)
        status, _ = await call(client, "job_status", job_id=job["job_id"])
        assert status["status"] == "finished" and status["next"] == "read evaluation"
        evaluation = status["evaluation"]
        assert evaluation["label"] == label and evaluation["images"] == 6
        # Fakes are not image banks: the loop's own generator with CoSy's prompt and seed.
        assert evaluation["held_out"] is False and "loop's generator" in evaluation["note"]
        direct = CosyEvaluator(server.driver.service, EvaluationConfig(images_per_concept=6))
        assert evaluation["auc"] == pytest.approx(direct.score([LabelRow(2, label)])[0].auc)
        image = await client.read_resource(f"line://images/{evaluation['image_ids'][0]}")
        assert image.contents[0].mime_type == "image/png"

        text = await call_error(client, "job_result", job_id=job["job_id"])
        assert "'evaluation' field of job_status" in text
        text = await call_error(client, "evaluate_label", neuron=2, label="teal", images=2)
        assert "images" in text


async def test_cancel_stops_a_job_after_the_step_in_progress(make_server):
    server = make_server()
    release = hold_proposals()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        job, _ = await call(client, "label_neuron", neuron=0)
        await call(client, "cancel_job", job_id=job["job_id"])
        release.set()
        server.driver.jobs.wait(job["job_id"], timeout=30)
        status, _ = await call(client, "job_status", job_id=job["job_id"])
        assert status["status"] == "cancelled"
        board, _ = await call(client, "get_scoreboard", neuron=0)
        assert board["status"] == "running" and board["steps_done"] == 1
        # label_neuron resumes the cancelled run from its saved step.
        job, _ = await call(client, "label_neuron", neuron=0)
        server.driver.jobs.wait(job["job_id"], timeout=30)
        board, _ = await call(client, "get_scoreboard", neuron=0)
        assert board["status"] == "finished" and board["steps_done"] == CONFIG.iterations + 1


async def test_ablation_falls_back_to_occlusion_without_an_editor(make_server):
    server = make_server()
    workspace = server.driver.service.workspace
    async with Client(server) as client:
        # A red square on black: blurring the square is what lowers the red neuron.
        image = Image.new("RGB", (40, 40))
        image.paste((255, 0, 0), (20, 20, 40, 40))
        workspace.put_image(
            "ab" * 12, image, generator="test", concept="square", prompt="", seed=0, source={}
        )
        result, call_result = await call(
            client, "ablate_concept", neuron=0, image_id="ab" * 12, concept="red square"
        )
    assert result["method"] == "occlusion" and result["editor"] is None
    assert "NOT a concept edit" in result["note"]
    _, _, right, bottom = result["region"]
    assert right > 20 and bottom > 20  # the region overlaps the red square
    assert result["activation_after"] < result["activation_before"]
    assert result["relative_drop"] > 0
    assert workspace.has_image(result["edited_image_id"])
    assert sum(b.type == "image" for b in call_result.content) == 2


async def test_occlusion_of_one_image_for_two_neurons_keeps_both_results(make_server):
    server = make_server()
    workspace = server.driver.service.workspace
    image = Image.new("RGB", (40, 40))
    image.paste((255, 0, 0), (0, 0, 16, 16))  # red top left
    image.paste((0, 0, 255), (24, 24, 40, 40))  # blue bottom right
    workspace.put_image(
        "cd" * 12, image, generator="test", concept="two", prompt="", seed=0, source={}
    )
    async with Client(server) as client:
        red, _ = await call(client, "ablate_concept", neuron=0, image_id="cd" * 12, concept="x")
        blue, _ = await call(client, "ablate_concept", neuron=2, image_id="cd" * 12, concept="x")
    # The blurred region is the neuron's own, so each neuron gets its own edited image.
    assert red["region"] != blue["region"]
    assert red["edited_image_id"] != blue["edited_image_id"]
    assert red["activation_after"] < red["activation_before"]
    assert blue["activation_after"] < blue["activation_before"]
    red_pixels = workspace.load_image(red["edited_image_id"]).getpixel((4, 4))
    assert red_pixels[0] < 255  # the red square was blurred in the red neuron's image


async def test_ablation_with_an_editor(make_server, fake_backends):
    fakes.FakeEditor.instructions.clear()
    server = make_server(backends=fake_backends.model_copy(update={"editor": "fake"}))
    workspace = server.driver.service.workspace
    async with Client(server) as client:
        drawn, _ = await call(client, "generate_images", concept="scarlet", n_images=1)
        image_id = drawn["images"][0]["image_id"]
        result, _ = await call(
            client, "ablate_concept", neuron=3, image_id=image_id, concept="scarlet"
        )
    assert result["method"] == "edit" and result["editor"] == "fake-editor"
    assert fakes.FakeEditor.instructions == ["remove the scarlet from the image"]
    assert result["activation_after"] == pytest.approx(128 / 255, abs=1e-4)
    edited = workspace.load_image(result["edited_image_id"])
    assert edited.size == (16, 16)  # brought back to the original resolution


async def test_bad_requests_are_error_results_and_the_server_keeps_serving(make_server):
    server = make_server()
    async with Client(server) as client:
        text = await call_error(client, "init_scoreboard", neuron=4)
        assert "4 neurons (0..3)" in text
        text = await call_error(client, "get_scoreboard", neuron=-1)
        assert "neuron" in text
        text = await call_error(client, "job_status", job_id="nope")
        assert "unknown job id" in text
        text = await call_error(client, "ablate_concept", neuron=0, image_id="zz", concept="x")
        assert "not an image id" in text
        text = await call_error(client, "ablate_concept", neuron=0, image_id="0" * 24, concept="x")
        assert "not stored" in text
        text = await call_error(client, "get_activations", paths=["../../etc/passwd"], neurons=[0])
        assert "outside the workspace" in text
        text = await call_error(client, "get_activations", neurons=[0])
        assert "image_ids" in text
        text = await call_error(client, "generate_images", concept="x", n_images=500)
        assert "16" in text
        text = await call_error(client, "score_concept", neuron=0, concepts=["a"] * 9)
        assert "8" in text
        text = await call_error(client, "propose_concept", neuron=0)
        assert "init_scoreboard first" in text
        text = await call_error(client, "update_scoreboard", neuron=0, concept="x")
        assert "init_scoreboard first" in text
        info, _ = await call(client, "describe_target")  # still serving
        assert info["neurons"] == 4


async def test_a_bug_is_an_internal_error_not_a_user_message(fake_backends, tmp_path, caplog):
    from line_mcp.server import build_server

    class Broken(fakes.FakeGenerator):
        def generate(self, requests):
            raise KeyError("secret detail")  # a bug: once read as an "unknown id" user error

    service = LineService(fake_backends, tmp_path, prebuilt={"generator": Broken()})
    async with Client(build_server(service, CONFIG)) as client:
        text = await call_error(client, "generate_images", concept="teal", n_images=1)
        assert "internal error (KeyError)" in text and "secret" not in text, text
        info, _ = await call(client, "describe_target")  # still serving
    assert info["neurons"] == 4
    logged = [r for r in caplog.records if r.name == "line_mcp.server"]  # stderr when serving
    assert logged and "secret detail" in str(logged[0].exc_info[1])


async def test_resources_and_prompts(make_server):
    server = make_server()
    async with Client(server) as client:
        board = await warm_init(client, server, 0)
        runs = json.loads((await client.read_resource("line://runs")).contents[0].text)
        assert [r["run_id"] for r in runs] == [board["run_id"]]
        record = json.loads(
            (await client.read_resource(f"line://runs/{board['run_id']}")).contents[0].text
        )
        assert record["neuron"] == 0 and len(record["init"]["entries"]) == 10
        scoreboard = json.loads(
            (await client.read_resource("line://scoreboards/0")).contents[0].text
        )
        assert scoreboard["scoreboard"] == board["scoreboard"]
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert prompts == {"label_neuron_workflow", "line_proposal", "line_summary"}
        proposal = await client.get_prompt("line_proposal", {"neuron": "0"})
        text = proposal.messages[0].content.text
        top = board["scoreboard"][0]
        assert f"- {top['concept']}: {top['score']:.2f}" in text
        summary = await client.get_prompt("line_summary", {"neuron": "0"})
        assert summary.messages[0].content.text.count("\n- ") >= 2
        workflow = await client.get_prompt("label_neuron_workflow", {"neuron": "0"})
        assert "init_scoreboard(neuron=0)" in workflow.messages[0].content.text
        with pytest.raises(Exception, match="no run"):
            await client.read_resource("line://runs/missing-run")
        with pytest.raises(Exception, match="whole number"):
            await client.get_prompt("line_proposal", {"neuron": "twelve"})
        with pytest.raises(Exception, match=r"4 neurons \(0..3\)"):
            await client.get_prompt("line_summary", {"neuron": "7"})
        with pytest.raises(Exception, match="call init_scoreboard first"):
            await client.get_prompt("line_proposal", {"neuron": "1"})


async def test_a_call_on_a_run_a_job_is_writing_fails_at_once(make_server):
    server = make_server()
    release = hold_proposals()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        job, _ = await call(client, "label_neuron", neuron=0)
        start = time.perf_counter()
        text = await call_error(client, "update_scoreboard", neuron=0, concept="teal")
        assert time.perf_counter() - start < 5  # not the 20 s lock timeout
        assert "busy" in text and job["job_id"] in text
        release.set()
        server.driver.jobs.wait(job["job_id"], timeout=30)


def test_board_rank_treats_last_bit_differences_as_ties():
    from line_mcp.server.tools import board_rank

    board = [6.9800003, 2.4, -0.5]  # 6.98 as stored from a batched vocabulary pass
    assert board_rank(6.98, board) == 1
    assert board_rank(3.0, board) == 2
    assert board_rank(-1.0, board) == 4


async def test_not_drawable_concepts_are_said_so_and_images_carry_their_source(make_server):
    server = make_server()
    async with Client(server) as client:
        drawn, _ = await call(client, "generate_images", concept="teal", n_images=2)
        # The generator's own record of each image comes with it (the fake reports its colour).
        assert len(drawn["images"][0]["source"]["colour"]) == 3
        assert drawn["images"][0]["drawn_from"] == ""  # a source line only for known generators
        undrawn, _ = await call(client, "generate_images", concept="undrawable thing")
        assert undrawn["images"] == []
        assert "'undrawable thing' is not drawable" in undrawn["not_drawable"]
        scores, _ = await call(
            client, "score_concept", neuron=0, concepts=["teal", "undrawable thing"]
        )
        teal, undrawable = scores["scores"]
        assert teal["score"] is not None and teal["not_drawable"] is None
        assert undrawable["score"] is None and undrawable["images"] == []
        assert "is not drawable" in undrawable["not_drawable"]
        await warm_init(client, server, 0)
        update, _ = await call(client, "update_scoreboard", neuron=0, concept="undrawable thing")
        assert "not drawable" in update["not_drawable"]
        assert update["board"]["steps_done"] == 1
        assert all(e["concept"] != "undrawable thing" for e in update["board"]["scoreboard"])
        assert update["images"] == []
        # A recorded step's images say what each was drawn from, as the stored record does.
        update, _ = await call(client, "update_scoreboard", neuron=0, concept="teal")
        record = server.driver.service.workspace.load_run(server.driver.run_id(0))
        stored = record.steps[-1].images
        assert [i["image_id"] for i in update["images"]] == [i.image_id for i in stored]
        assert [i["source"] for i in update["images"]] == [i.source for i in stored]
        assert len(stored[0].source["colour"]) == 3
        # The image's info resource: how it was made.
        image_id = update["images"][0]["image_id"]
        info = await client.read_resource(f"line://images/{image_id}/info")
        info = json.loads(info.contents[0].text)
        assert info["concept"] == "teal" and info["source"] == stored[0].source
        assert info["seed"] == stored[0].seed and info["drawn_from"] == ""
        png = await client.read_resource(f"line://images/{image_id}")
        assert png.contents[0].mime_type == "image/png"


def test_thumbnail_links_describe_what_a_composed_image_was_made_of(tmp_path):
    from line_mcp.core.provenance import DrawnObject, Provenance, SourceMatch
    from line_mcp.server.images import image_blocks
    from line_mcp.store.workspace import Workspace

    workspace = Workspace(tmp_path)
    match = SourceMatch(
        word="cat", image_id="tuxpaint:cat", bank="tuxpaint", label="cat", similarity=1.0,
        via="label",
    )  # fmt: skip
    source = Provenance(concept="red cat", objects=[DrawnObject(match=match, colour="red")])
    workspace.put_image(
        "a" * 24, Image.new("RGB", (8, 8)), generator="compose", concept="red cat",
        prompt="red cat", seed=0, source=source.model_dump(mode="json"),
    )  # fmt: skip
    link = image_blocks(workspace, ["a" * 24])[-1]
    assert link.description == "full-size image; drawn from 'cat' (tuxpaint:cat, 1.00), colour red"


async def test_label_neuron_finds_several_concepts_in_one_job(make_server, monkeypatch):
    from line_mcp import polysemantic

    # The fake embedder counts letters ("colour 1" ~ "colour 2"): only exact bags count here.
    monkeypatch.setattr(polysemantic, "NEAR_DUPLICATE_SIMILARITY", 0.999)
    server = make_server()
    async with Client(server) as client:
        text = await call_error(client, "label_neuron", neuron=2, concepts=0)
        assert "concepts" in text
        job, _ = await call(client, "label_neuron", neuron=2, concepts=2)
        server.driver.jobs.wait(job["job_id"], timeout=120)
        status, _ = await call(client, "job_status", job_id=job["job_id"])
        assert status["status"] == "finished" and status["progress"] == 1.0
        assert status["message"].startswith("finished; concepts: ")
        runs = [r for r in server.driver.service.workspace.load_runs(["all"]) if r.neuron == 2]
        assert sorted(r.concept_index for r in runs) == [1, 2]
        second = next(r for r in runs if r.concept_index == 2)
        first = next(r for r in runs if r.concept_index == 1)
        assert second.excluded == [first.label.concept] and second.first_run == first.run_id
        assert second.label.concept in status["message"]
