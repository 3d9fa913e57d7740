"""The LINE tools. Each is a thin async shell: blocking service work runs in a worker
thread (the event loop keeps serving other calls), results are typed pydantic models
(the SDK publishes their schemas), and failures become error results that say what
was wrong and what is allowed."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import AfterValidator, BaseModel, Field

from line_mcp.backends.registry import Role
from line_mcp.core.composition import ConceptError
from line_mcp.core.concepts import MAX_CONCEPT_CHARS, checked_concept
from line_mcp.core.provenance import describe
from line_mcp.core.records import AblationResult
from line_mcp.engine.backends import WARM_UP_ORDER, Backends
from line_mcp.errors import InputError, LineError
from line_mcp.server.images import MAX_THUMBNAILS, image_blocks, image_uri
from line_mcp.server.jobs import Job, JobManager
from line_mcp.server.models import (
    ActivationsView,
    BoardView,
    ConceptScore,
    ControlInfo,
    GeneratedImages,
    ImageActivation,
    ImageView,
    JobView,
    LoadingView,
    ProposalView,
    ScoresView,
    TargetInfo,
    UpdateView,
)
from line_mcp.server.runs import RunDriver
from line_mcp.server.schemas import compact_schema

T = TypeVar("T")
logger = logging.getLogger("line_mcp.server")

#: Request size limits (a tool call must finish well inside a host's ~1 minute timeout).
MAX_IMAGES_PER_CALL = 16
MAX_CONCEPTS_PER_CALL = 8
MAX_ACTIVATION_IMAGES = 64
MAX_NEURONS_PER_CALL = 64
#: How long a tool waits for a model still loading at start-up before it answers
#: ``loading`` (well inside the ~60 s a client waits for a tool call).
LOADING_WAIT_S = 15.0
#: The longest a call may wait for its job (``wait_s``), inside a client's ~60 s timeout.
MAX_JOB_WAIT_S = 50.0

# The roles each tool needs built before it can answer (the others build lazily).
_NEURON: tuple[Role, ...] = ("target",)
_DRAW: tuple[Role, ...] = ("target", "embedder", "generator")
_VOCABULARY: tuple[Role, ...] = ("target", "control", "embedder", "generator")
_PROPOSE: tuple[Role, ...] = ("target", "embedder", "proposer")


def _concept_text(concept: str) -> str:
    # The one concept rule (printable English text, normalised whitespace); each tool
    # then applies the server's word limit (within_limit).
    return checked_concept(concept, max_words=None)


# Strict: a neuron is a JSON integer, never true or "1".
Neuron = Annotated[
    int,
    Field(
        ge=0,
        strict=True,
        description="neuron index in the server's layer (describe_target gives the count)",
    ),
]
Concept = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CONCEPT_CHARS,
        description="a short visual concept, 1-3 words, e.g. 'striped fur'",
    ),
    AfterValidator(_concept_text),
]
JobId = Annotated[str, Field(min_length=1, max_length=64, description="id from label_neuron")]
WaitS = Annotated[
    float,
    Field(
        ge=0,
        le=MAX_JOB_WAIT_S,
        description="seconds to wait for the job (0: answer at once), sending progress",
    ),
]

READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
#: Writes whose repetition changes nothing more (a stored run is reopened, cached images
#: are returned, an active job is returned again).
REPEATABLE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


async def offload(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking service work in a worker thread.

    A :class:`~line_mcp.errors.LineError` (a neuron out of range, an unknown id...)
    becomes a tool error with its message; anything else is a bug: its traceback
    goes to stderr and the client reads that an internal error happened.
    """
    try:
        return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
    except LineError as err:
        raise ToolError(str(err)) from None
    except Exception as err:
        logger.error("internal error in %s", getattr(function, "__name__", function), exc_info=err)
        raise ToolError(
            f"internal error ({type(err).__name__}); the server's log has the details"
        ) from None


def with_images(model: BaseModel, blocks: list[Any]) -> CallToolResult:
    """A structured result whose content also carries thumbnails and image links."""
    text = TextContent(text=model.model_dump_json(exclude_none=True))
    return CallToolResult(content=[text, *blocks], structured_content=model.model_dump(mode="json"))


def board_rank(score: float, board_scores: list[float]) -> int:
    """Where ``score`` would land on a board (1 = best); a tie counts as a tie.

    A concept re-scored from its cached images can differ from its board entry in the
    last bits (a forward pass in another batch), so near-equal scores are ties.
    """
    return 1 + sum(s > score + 1e-5 * max(1.0, abs(score)) for s in board_scores)


async def until_loaded(
    backends: Backends, roles: tuple[Role, ...], wait_s: float
) -> CallToolResult | None:
    """Wait up to ``wait_s`` for the warm-up to build ``roles``; a ``loading`` result if
    it has not by then, None once they are built (or when no warm-up runs)."""
    deadline = anyio.current_time() + wait_s
    while (status := backends.loading(roles)) is not None:
        if anyio.current_time() >= deadline:
            retry = status.estimate_s if status.estimate_s is not None else 10.0
            view = LoadingView(
                loading=status.loading,
                current=status.current,
                elapsed_s=status.elapsed_s,
                estimate_s=status.estimate_s,
                next=f"call this tool again in about {max(2.0, retry):.0f} s; "
                "describe_target answers meanwhile",
            )
            text = f"loading: {status.message()}"
            return CallToolResult(
                content=[TextContent(text=text)],
                structured_content=view.model_dump(mode="json"),
                is_error=True,
            )
        await anyio.sleep(0.2)
    return None


async def follow_job(
    jobs: JobManager,
    job: Job,
    wait_s: float,
    ctx: Context[Any, Any] | None,
    cancel_with_call: bool = False,
) -> Job:
    """Wait up to ``wait_s`` for a job to end, sending MCP progress notifications as its
    progress grows (a no-op for a client that sent no progressToken).

    Args:
        jobs: Where the job runs (another process's job is read from its record).
        job: The job.
        wait_s: Seconds to wait at most; 0 returns the job as it is.
        ctx: The request context the notifications go through.
        cancel_with_call: Cancel the job when the call is cancelled (the client's
            ``notifications/cancelled``): it stops after the step in progress.
    """
    if wait_s <= 0:
        return job
    deadline = anyio.current_time() + wait_s
    sent = -1.0
    try:
        while True:
            job = await anyio.to_thread.run_sync(jobs.get, job.job_id)
            if ctx is not None and job.done > sent:  # progress must grow between notices
                sent = job.done
                await ctx.report_progress(job.done, job.total or None, job.message)
            if not job.active or anyio.current_time() >= deadline:
                return job
            await anyio.sleep(0.25)
    except anyio.get_cancelled_exc_class():
        if cancel_with_call:
            jobs.cancel(job.job_id)
        raise


def image_view(
    image_id: str,
    prompt: str | None,
    seed: int | None,
    source: dict[str, Any],
    activation: float | None = None,
) -> ImageView:
    """A result's image entry, with what the generator says it was drawn from."""
    return ImageView(
        image_id=image_id,
        uri=image_uri(image_id),
        prompt=prompt,
        seed=seed,
        activation=activation,
        drawn_from=describe(source),
        source=source,
    )


def job_view(job: Job) -> JobView:
    if job.kind == "evaluate_label":
        hint = {
            "queued": "poll job_status",
            "running": "poll job_status every few seconds",
            "finished": "read evaluation",
            "failed": "read error",
            "cancelled": "call evaluate_label again to restart it",
        }[job.status]
    else:
        hint = {
            "queued": "poll job_status",
            "running": "poll job_status every few seconds; get_scoreboard shows the board so far",
            "finished": "call job_result for the label, then evaluate_label to grade it",
            "failed": "read error; get_scoreboard shows the saved steps; label_neuron resumes",
            "cancelled": "the saved steps are kept; label_neuron resumes the run",
        }[job.status]
    finished_evaluation = job.kind == "evaluate_label" and job.status == "finished"
    return JobView(
        job_id=job.job_id,
        kind=job.kind,
        neuron=job.neuron,
        run_id=job.run_id,
        status=job.status,
        progress=round(job.progress, 4),
        elapsed_s=None if job.elapsed_s is None else round(job.elapsed_s, 1),
        eta_s=None if job.eta_s is None else round(job.eta_s, 1),
        message=job.message,
        owner_pid=job.owner_pid,
        error=job.error,
        evaluation=job.result if finished_evaluation else None,
        next=hint,
    )


def register_tools(
    server: MCPServer, driver: RunDriver, loading_wait_s: float = LOADING_WAIT_S
) -> None:
    """Add every LINE tool to ``server``.

    Args:
        server: The server to add them to.
        driver: The runs, jobs and service the tools work on.
        loading_wait_s: How long a tool waits for a model still loading at start-up
            before it answers ``loading``.
    """
    service, config = driver.service, driver.config
    workspace = service.workspace

    def within_limit(concept: str) -> str:
        """The concept rule with this server's word limit (InputError otherwise)."""
        return checked_concept(concept, config.max_concept_words)

    def tool(
        title: str, annotations: ToolAnnotations, needs: tuple[Role, ...] = ()
    ) -> Callable[[Callable[..., Any]], Any]:
        """Register with the docstring, dedented, as the description the LLM reads; the
        tool answers ``loading`` while a role in ``needs`` is still loading."""

        def register(function: Callable[..., Any]) -> Any:
            description = inspect.cleandoc(function.__doc__ or "").replace("\n", " ")

            @functools.wraps(function)  # keeps the signature the SDK reads the schemas from
            async def gated(*args: Any, **kwargs: Any) -> Any:
                waiting = await until_loaded(service.backends, needs, loading_wait_s)
                return waiting if waiting is not None else await function(*args, **kwargs)

            entry = gated if needs else function
            annotations_ = annotations.model_copy(update={"title": title})
            server.add_tool(entry, title=title, description=description, annotations=annotations_)
            # Publish smaller schemas (validation on the server uses the models, not these).
            added = server._tool_manager.get_tool(function.__name__)
            if added is not None:
                added.parameters = compact_schema(added.parameters)
                if added.fn_metadata.output_schema is not None:
                    added.fn_metadata.output_schema = compact_schema(
                        added.fn_metadata.output_schema, result=True
                    )
            return function

        return register

    # --- orientation -------------------------------------------------------------------------

    def _describe() -> TargetInfo:
        # Answers from what is built: while the warm-up runs, the parts that need a
        # model still loading are null and 'loading' says what they wait for.
        backends = service.backends
        target_ready = backends.loading(("target",)) is None
        control_ready = backends.loading(("control",)) is None
        target = backends.target if target_ready else None
        control_info = None
        if control_ready:
            control = backends.control
            control_info = ControlInfo(
                name=control.name,
                labels=len(control.labels()),
                images=len(control.items()),
                init_scoring=service.vocabulary.resolved_init_scoring(config),  # type: ignore[arg-type]
            )
        names = target.neuron_names() if target else None
        waiting = backends.loading(WARM_UP_ORDER)
        loading = None
        if waiting is not None:
            loading = LoadingView(
                loading=waiting.loading,
                current=waiting.current,
                elapsed_s=waiting.elapsed_s,
                estimate_s=waiting.estimate_s,
                next="tools that need these models answer 'loading' until they are loaded",
            )
        return TargetInfo(
            target=target.name if target else service.config.target,
            layer=target.layer if target else service.config.layer,
            neurons=target.num_neurons if target else None,
            neuron_names=names[:20] if names else None,
            layers=target.layers() if target else None,
            control=control_info,
            backends=service.config.to_dict(),
            editor=service.config.editor,
            loop=config.to_dict(),
            vocabulary_ready=(
                service.vocabulary.ready(config) if backends.loading(_VOCABULARY) is None else None
            ),
            loading=loading,
            next="pick a neuron and call init_scoreboard (or label_neuron to run the whole "
            "loop as a background job)",
        )

    @tool("Describe the model", READ)
    async def describe_target() -> TargetInfo:
        """Call this first. Describes the vision model being explained: the layer this server
        labels and its neuron count (valid neuron indices), the other layers, the control set
        that gives the initial vocabulary, the backends, the loop's numbers (N iterations,
        |P| images per concept, seed) and whether init_scoreboard will answer at once."""
        return await offload(_describe)

    # --- a neuron's run ----------------------------------------------------------------------

    @tool("Start a neuron's run", REPEATABLE, needs=_VOCABULARY)
    async def init_scoreboard(
        neuron: Neuron, wait_s: WaitS = 0.0, ctx: Context[Any, Any] | None = None
    ) -> BoardView:
        """Start (or reopen) a neuron's LINE run and return its scoreboard: the 5 best
        vocabulary labels plus 5 random ones, each with its score (the neuron's mean
        activation over the label's images; higher = stronger response). If the layer's
        vocabulary is not scored yet this takes minutes, so it runs as a background job:
        status is then 'initialising' with a job_id; poll job_status, then get_scoreboard.
        Runs are stored on disk: calling it again never resets a run."""
        board = await offload(driver.init, neuron)
        if board.job_id is None or wait_s <= 0:
            return board
        job = await offload(driver.jobs.get, board.job_id)
        await follow_job(driver.jobs, job, wait_s, ctx, cancel_with_call=True)
        return await offload(driver.board, neuron)

    @tool("Show a neuron's run", READ, needs=_NEURON)
    async def get_scoreboard(neuron: Neuron) -> BoardView:
        """A neuron's run as stored: status, scoreboard (best first), the step it is at,
        concepts already tried (forbidden as proposals), the pending proposal, and the label
        once finished. 'next' says what to call."""
        return await offload(driver.board, neuron)

    @tool("Propose the next concept", WRITE, needs=_PROPOSE)
    async def propose_concept(neuron: Neuron) -> ProposalView:
        """Ask the server's built-in LLM for the next concept of a neuron's run, from its
        scoreboard and the concepts already tried (LINE's proposal prompt). The concept is
        kept as the run's pending proposal: pass it to update_scoreboard to score and record
        it (or record your own concept instead). If every reply is rejected the step is
        recorded as skipped."""
        return await offload(driver.propose, neuron, False)

    @tool("Propose the summary concept", WRITE, needs=_PROPOSE)
    async def summarize_scoreboard(neuron: Neuron) -> ProposalView:
        """LINE's summary step, after the N iterations: the built-in LLM sees the top 3
        concepts and proposes one concept that generalises them. Pass it to update_scoreboard
        to score it; that finishes the run and sets the label (the best entry)."""
        return await offload(driver.propose, neuron, True)

    @tool("Record a step", WRITE, needs=_DRAW)
    async def update_scoreboard(
        neuron: Neuron,
        concept: Concept,
        as_summary: Annotated[
            bool,
            Field(strict=True, description="record your concept as the final summary step 'S'"),
        ] = False,
        reasoning: Annotated[
            str, Field(max_length=2000, description="why you chose it (kept in the record)")
        ] = "",
    ) -> Annotated[CallToolResult, UpdateView]:
        """Score a concept for a neuron and record it as the run's next step (LINE's board
        update): the concept enters the board; if it beats the board's minimum the minimum
        leaves, otherwise a weaker entry leaves at random, so the board keeps its size.
        The concept is the pending built-in proposal (origin 'llm') or your own ('client';
        1-3 words, not already tried). The run finishes after the summary step."""
        view = await offload(driver.update, neuron, concept, as_summary, reasoning)
        record = await offload(workspace.load_run, view.run_id)
        drawn = record.steps[-1].images if record and record.steps else []
        view.images = [
            image_view(i.image_id, i.prompt, i.seed, i.source, i.activation) for i in drawn
        ]
        ids = [i.image_id for i in drawn]
        return with_images(view, await offload(image_blocks, workspace, ids, view.concept))

    # --- the design card's primitives --------------------------------------------------------

    def _generate(concept: str, n_images: int) -> GeneratedImages:
        concept = within_limit(concept)
        try:
            drawn = service.drawing.draw(
                [concept], config.model_copy(update={"images_per_concept": n_images})
            )[0]
        except ConceptError as err:  # the source cannot show it: said, not an error
            return GeneratedImages(concept=concept, images=[], not_drawable=str(err))
        return GeneratedImages(
            concept=concept,
            images=[
                image_view(i, r.prompt, r.seed, source)
                for i, r, source in zip(drawn.image_ids, drawn.requests, drawn.sources, strict=True)
            ],
        )

    @tool("Draw a concept", REPEATABLE, needs=("embedder", "generator"))
    async def generate_images(
        concept: Concept,
        n_images: Annotated[
            int | None,
            Field(
                ge=1,
                le=MAX_IMAGES_PER_CALL,
                strict=True,
                description="images to draw (default: the loop's |P|)",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, GeneratedImages]:
        """Draw images of a concept with LINE's prompt template ('realistic photo of a
        {concept}, {angle}, {lighting}') and seeds: the same concept always gives the same
        images. Returns image ids (for get_activations / ablate_concept), thumbnails and
        links to the full images."""
        result = await offload(_generate, concept, n_images or config.images_per_concept)
        ids = [i.image_id for i in result.images]
        return with_images(result, await offload(image_blocks, workspace, ids, concept))

    def _activations(image_ids: list[str], paths: list[str], neurons: list[int]) -> ActivationsView:
        for neuron in neurons:
            service.backends.check_neuron(neuron)
        rows: list[ImageActivation] = []
        if image_ids:
            matrix = service.drawing.image_activations(image_ids)
            rows += [
                ImageActivation(image=i, activations={str(n): float(v[n]) for n in neurons})
                for i, v in zip(image_ids, matrix, strict=True)
            ]
        if paths:
            from PIL import Image, UnidentifiedImageError

            images = []
            for path in paths:
                resolved = _inside_workspace(path)
                try:
                    with Image.open(resolved) as image:
                        images.append(image.convert("RGB"))
                except (UnidentifiedImageError, OSError) as err:
                    raise InputError(
                        f"{path!r} is not an image this server can read ({err}); give a PNG, "
                        "JPEG or another format Pillow opens"
                    ) from None
            matrix = service.drawing.read_activations(images)
            rows += [
                ImageActivation(image=p, activations={str(n): float(v[n]) for n in neurons})
                for p, v in zip(paths, matrix, strict=True)
            ]
        return ActivationsView(layer=service.config.layer, neurons=neurons, images=rows)

    def _inside_workspace(path: str) -> Path:
        root = workspace.root
        resolved = (root / path).resolve()
        if not resolved.is_relative_to(root):
            raise InputError(
                f"path {path!r} is outside the workspace {str(root)!r}; only files inside it "
                "can be read (copy the image into the workspace, e.g. WORKSPACE/uploads/)"
            )
        if not resolved.is_file():
            raise InputError(f"no file at {path!r} in the workspace {str(root)!r}")
        return resolved

    @tool("Read activations", READ, needs=_NEURON)
    async def get_activations(
        neurons: Annotated[
            list[Annotated[int, Field(strict=True)]],
            Field(min_length=1, max_length=MAX_NEURONS_PER_CALL, description="neuron indices"),
        ],
        image_ids: Annotated[
            list[str],
            Field(
                max_length=MAX_ACTIVATION_IMAGES,
                description="ids of stored images (from generate_images or score_concept)",
            ),
        ] = [],  # noqa: B006 (pydantic copies defaults)
        paths: Annotated[
            list[str],
            Field(
                max_length=MAX_ACTIVATION_IMAGES,
                description="image files inside the workspace folder, relative to it",
            ),
        ] = [],  # noqa: B006
    ) -> ActivationsView:
        """Read the target layer on images: each neuron's pooled activation (spatial mean of
        its feature map, or its logit) on each image. Higher means a stronger response;
        compare with the scores on the neuron's scoreboard."""
        if not image_ids and not paths:
            raise ToolError("give image_ids (from generate_images) or paths in the workspace")
        if len(image_ids) + len(paths) > MAX_ACTIVATION_IMAGES:
            raise ToolError(f"at most {MAX_ACTIVATION_IMAGES} images per call")
        return await offload(_activations, image_ids, paths, neurons)

    def _score(neuron: int, concepts: list[str]) -> ScoresView:
        record = service.workspace.load_run(driver.run_id(neuron))
        board = record.scoreboard() if record else []
        board_scores = sorted((e.score for e in board), reverse=True)
        concepts = [within_limit(c) for c in concepts]
        scores = []
        for concept in concepts:
            try:  # the loop's scoring code, one concept at a time so each can be refused
                scored = service.drawing.score_concept(neuron, concept, config)
            except ConceptError as err:  # said per concept; the others are still scored
                scores.append(
                    ConceptScore(concept=concept, score=None, not_drawable=str(err), images=[])
                )
                continue
            images, score = scored.images, scored.score
            scores.append(
                ConceptScore(
                    concept=scored.concept,
                    score=score,
                    images=[
                        image_view(i.image_id, i.prompt, i.seed, i.source, i.activation)
                        for i in images
                    ],
                    board_rank=board_rank(score, board_scores) if board else None,
                    refused=driver.concept_error(record, concept) if record else None,
                )
            )
        return ScoresView(
            neuron=neuron,
            scores=scores,
            board_min=board_scores[-1] if board else None,
            board_max=board_scores[0] if board else None,
        )

    @tool("Score concepts", READ, needs=_DRAW)
    async def score_concept(
        neuron: Neuron,
        concepts: Annotated[
            list[Concept],
            Field(
                min_length=1,
                max_length=MAX_CONCEPTS_PER_CALL,
                description="concepts to score (1 to 8)",
            ),
        ],
    ) -> Annotated[CallToolResult, ScoresView]:
        """LINE's score of each concept for a neuron: draw |P| images of it and average the
        neuron's activation over them. Does not change the scoreboard (update_scoreboard
        does); board_rank says where it would land. Images are cached, so scoring a concept
        again, or for another neuron, is instant."""
        result = await offload(_score, neuron, concepts)
        blocks: list[Any] = []
        for scored in result.scores:  # MAX_THUMBNAILS for the whole result, not per concept
            ids = [i.image_id for i in scored.images]
            left = MAX_THUMBNAILS - sum(b.type == "image" for b in blocks)
            blocks += await offload(image_blocks, workspace, ids, scored.concept, left)
        return with_images(result, blocks)

    @tool("Ablate a concept", WRITE, needs=("target", "editor"))
    async def ablate_concept(
        neuron: Neuron,
        image_id: Annotated[str, Field(description="a stored image id (e.g. from score_concept)")],
        concept: Concept,
        seed: Annotated[int, Field(strict=True, description="the editor's seed")] = 0,
    ) -> Annotated[CallToolResult, AblationResult]:
        """Check causally whether a concept drives the neuron: remove it from an image and
        compare the neuron's activation before and after (relative_drop near 1 = the response
        depends on it). With an editor backend the concept is edited out ('remove the
        {concept} from the image'); without one, method is 'occlusion': the region where the
        neuron responds most is blurred instead, which is not a concept edit (see note)."""
        def _ablate() -> AblationResult:
            return service.ablation.ablate(neuron, image_id, within_limit(concept), seed)

        result = await offload(_ablate)
        ids = [image_id, result.edited_image_id]
        return with_images(result, await offload(image_blocks, workspace, ids, concept))

    # --- the whole loop as a background job --------------------------------------------------

    @tool("Label a neuron (job)", REPEATABLE, needs=_NEURON)
    async def label_neuron(
        neuron: Neuron,
        concepts: Annotated[
            int,
            Field(
                ge=1,
                le=5,
                strict=True,
                description="find up to this many concepts (polysemantic neurons): after "
                "each label the loop restarts with the earlier labels forbidden",
            ),
        ] = 1,
        wait_s: WaitS = 0.0,
        ctx: Context[Any, Any] | None = None,
    ) -> JobView:
        """Run the whole LINE loop for a neuron with the built-in LLM (initial board, N
        proposals, summary step) as a background job. Returns a job id at once; poll
        job_status (progress 0..1), then job_result for the label (with concepts > 1 the
        finished job_status message lists every concept and its run). Resumes a stopped run
        from its last saved step; a finished run returns at once. Cancelling a call that
        waits (wait_s) cancels the job after the step in progress."""
        job = await offload(driver.start_label_job, neuron, concepts)
        return job_view(await follow_job(driver.jobs, job, wait_s, ctx, cancel_with_call=True))

    @tool("Label neurons (job)", REPEATABLE, needs=_NEURON)
    async def label_neurons(
        neurons: Annotated[
            list[Annotated[int, Field(ge=0, strict=True)]] | str,
            Field(
                description="neuron indices as a list ([0, 1, 5]) or a range string "
                "('0-7,12'); at most 4096"
            ),
        ],
        batch_neurons: Annotated[
            int,
            Field(ge=1, le=256, strict=True, description="neurons advanced together"),
        ] = 8,
    ) -> JobView:
        """Run the whole LINE loop for several neurons as one background job, in lockstep
        batches (each neuron's record is what label_neuron gives it). Returns a job id at
        once; job_status's message shows every neuron's steps done, and the finished message
        lists each label. Stopped runs resume from their last saved step."""
        return job_view(await offload(_start_layer_job, neurons, batch_neurons))

    def _start_layer_job(neurons: list[int] | str, batch_neurons: int) -> Job:
        from line_mcp.core.neurons import parse_neurons

        if isinstance(neurons, str):
            chosen = parse_neurons(neurons)
        else:
            chosen = list(dict.fromkeys(neurons))
        if not chosen or len(chosen) > 4096:
            raise InputError(f"give 1 to 4096 neurons, got {len(chosen)}")
        return driver.start_layer_job(chosen, batch_neurons)

    @tool("Grade a label (job)", WRITE, needs=_NEURON)
    async def evaluate_label(
        neuron: Neuron,
        label: Annotated[
            Concept | None, Field(description="the label to grade; default: the run's label")
        ] = None,
        images: Annotated[
            int,
            Field(ge=5, le=50, strict=True, description="label images to draw (CoSy uses 50)"),
        ] = 20,
        wait_s: WaitS = 0.0,
        ctx: Context[Any, Any] | None = None,
    ) -> JobView:
        """Grade a label the way the field does (CoSy): draw it with the evaluation prompt
        and seed on image sources the loop did not optimise on, and compare the neuron's
        activations on those images with a control set (AUC 0.5 = chance, 1.0 = every label
        image beats every control image). A background job: returns a job id at once; poll
        job_status, whose 'evaluation' field holds the scores once finished. The first call
        on a layer also reads the control set (a minute or two on a CPU)."""
        job = await offload(driver.start_evaluation_job, neuron, label, images)
        return job_view(await follow_job(driver.jobs, job, wait_s, ctx, cancel_with_call=True))

    @tool("Job status", READ)
    async def job_status(
        job_id: JobId, wait_s: WaitS = 0.0, ctx: Context[Any, Any] | None = None
    ) -> JobView:
        """Status and progress of a background job (label_neuron, evaluate_label or an
        initialising init_scoreboard): queued, running, finished, failed or cancelled; a
        finished evaluate_label job carries its scores in 'evaluation'. With wait_s it
        answers when the job ends or the wait is over."""
        job = await offload(driver.jobs.get, job_id)
        return job_view(await follow_job(driver.jobs, job, wait_s, ctx))

    def _job_result(job_id: str) -> BoardView:
        job = driver.jobs.get(job_id)
        if job.kind == "evaluate_label":
            raise InputError(
                f"job {job_id} is an evaluation: its scores are the 'evaluation' field of "
                "job_status"
            )
        if job.status != "finished":
            raise InputError(
                f"job {job_id} is {job.status} ({job.message}); "
                + (
                    "poll job_status until it is finished"
                    if job.active
                    else "get_scoreboard shows what was saved"
                )
            )
        return driver.board(job.neuron)

    @tool("Job result", READ, needs=_NEURON)
    async def job_result(job_id: JobId) -> BoardView:
        """The result of a finished job: the neuron's run with its scoreboard (best first) and
        its label. Errors while the job is still running: poll job_status first."""
        return await offload(_job_result, job_id)

    @tool("Cancel a job", REPEATABLE)
    async def cancel_job(job_id: JobId) -> JobView:
        """Stop a background job after the step in progress. Every saved step is kept;
        label_neuron resumes the run later."""
        return job_view(await offload(driver.jobs.cancel, job_id))
