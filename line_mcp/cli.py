"""The ``line-mcp`` command line. Heavy imports happen inside the commands, so
``line-mcp --help`` answers instantly."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from line_mcp.core.neurons import parse_neurons
from line_mcp.errors import InputError, LineError

if TYPE_CHECKING:
    from line_mcp.core.records import RunRecord

DEFAULT_WORKSPACE = "line-workspace"


def _model_options(
    parser: argparse.ArgumentParser, model: type[Any], title: str, skip: tuple[str, ...] = ()
) -> None:
    """One option per field of a config model: help from its description, choices from
    its ``Literal``, ``--x/--no-x`` for a bool, comma-separated values for a tuple.

    Defaults stay None (not given) so that a preset's values and the model's own
    defaults apply; the help shows the model's default.
    """
    import typing

    group = parser.add_argument_group(title)
    defaults = model()
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        flags = [f"--{name.replace('_', '-')}", *([extra["cli"]] if "cli" in extra else [])]
        default = getattr(defaults, name)
        shown = ",".join(default) if isinstance(default, tuple) else default
        shown = "none" if shown is None else shown
        help_text = f"{info.description} (default: {shown})"
        annotation = info.annotation
        args = typing.get_args(annotation)
        kwargs: dict[str, Any] = {"dest": name, "default": None, "help": help_text}
        if annotation is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(annotation) is typing.Literal:
            kwargs["choices"] = args
        elif typing.get_origin(annotation) is tuple:
            kwargs["type"] = _comma_tuple
            kwargs["metavar"] = "A,B,..."
        elif annotation in (int, float):
            kwargs["type"] = annotation
        group.add_argument(*flags, **kwargs)


def _comma_tuple(text: str) -> tuple[str, ...]:
    """``"a, b,c"`` -> ``("a", "b", "c")``."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _add_backend_options(parser: argparse.ArgumentParser) -> None:
    from line_mcp.config import BackendConfig

    _model_options(parser, BackendConfig, "backends (spec strings; see `line-mcp backends`)")
    parser.add_argument(
        "--workspace",
        default=DEFAULT_WORKSPACE,
        help=f"run store folder (default: ./{DEFAULT_WORKSPACE})",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress on stderr (default: a bar with an ETA per long phase on a "
        "terminal, a line every 2 s otherwise)",
    )


def _add_loop_options(parser: argparse.ArgumentParser) -> None:
    from line_mcp.config import LoopConfig

    _model_options(parser, LoopConfig, "loop (defaults are the paper's)")


def build_parser(preset: str | None = None) -> argparse.ArgumentParser:
    """The ``line-mcp`` parser; ``preset`` makes a preset's settings the run-loop defaults."""
    parser = argparse.ArgumentParser(
        prog="line-mcp",
        description="Label vision-model neurons with LINE (LLM-based Iterative Neuron "
        "Explanations).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run-loop",
        help="label neurons with the canonical LINE loop",
        description="Label one or more neurons of a layer; a killed run resumes when rerun.",
    )
    run.add_argument("--neurons", required=True, help="indices and ranges, e.g. 3,17,40-45")
    run.add_argument(
        "--summary-file",
        help="where to write the JSON summary (default: WORKSPACE/labels-LAYER.json)",
    )
    run.add_argument(
        "--concepts",
        type=int,
        default=1,
        metavar="K",
        help="find up to K concepts per neuron: after the first label, restart the loop "
        "with every earlier label and its near-duplicates forbidden (default 1)",
    )
    run.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process labels the neurons one after another; ray: shard them "
        'over Ray actors that keep their models loaded (pip install -e ".[ray]")',
    )
    run.add_argument(
        "--ray-address",
        help="Ray cluster to join (auto, ray://HOST:10001); default: start a local one",
    )
    run.add_argument(
        "--ray-workers",
        type=int,
        help="Ray actors (default: one per GPU of the cluster, else 2 CPU workers)",
    )
    run.add_argument(
        "--ray-worker-workspace",
        help="workspace folder of the Ray actors (default: --workspace; on a cluster without "
        "a shared filesystem, a node-local folder)",
    )
    run.add_argument(
        "--batch-neurons",
        type=int,
        default=None,
        metavar="B",
        help="neurons advanced together step by step: their proposals in one batched LLM "
        "call, their new concepts drawn and read in one pass (records equal one at a "
        "time; default 8)",
    )
    _add_backend_options(run)
    _add_loop_options(run)
    _add_preset_option(run, preset)
    describe = commands.add_parser(
        "describe", help="show the target's layers, neuron counts and backends"
    )
    _add_backend_options(describe)
    commands.add_parser("backends", help="list the backend schemes of every role")
    _add_serve_parser(commands, preset)
    _add_evaluate_parser(commands)
    _add_draw_parser(commands)
    report = commands.add_parser(
        "report",
        help="write HTML pages of stored runs (scoreboard, images, steps)",
        description="One self-contained page per run (label, final scoreboard with its images, "
        "every step and where its concept came from) and an index.html.",
    )
    report.add_argument("--run", default="all", help="run ids, comma-separated, or 'all'")
    report.add_argument("--output", help="folder for the pages (default: WORKSPACE/reports)")
    report.add_argument(
        "--workspace",
        default=DEFAULT_WORKSPACE,
        help=f"run store folder (default: ./{DEFAULT_WORKSPACE})",
    )
    return parser


def _add_serve_parser(commands: Any, preset: str | None) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the MCP server (stdio by default, --http for streamable HTTP)",
        description="Serve LINE's tools, resources and prompts to an MCP client. Logs go to "
        "stderr; on stdio, stdout carries the protocol.",
    )
    _add_backend_options(serve)
    _add_loop_options(serve)
    _add_preset_option(serve, preset)
    serve.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a module that registers extra backends (repeatable; also the "
        "comma-separated LINE_MCP_PLUGINS environment variable)",
    )
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    serve.add_argument(
        "--token",
        default=None,
        help="bearer token HTTP clients must send (default: $LINE_MCP_TOKEN; required off "
        "loopback)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        help="Host header accepted off loopback, e.g. myserver.lan:8765 (repeatable)",
    )
    serve.add_argument(
        "--allowed-origin", action="append", default=[], help="Origin accepted (repeatable)"
    )
    serve.add_argument(
        "--no-preload", action="store_true", help="load backends on first use, not at startup"
    )


def _serve(args: argparse.Namespace) -> int:
    import os

    from line_mcp.backends.registry import load_plugins
    from line_mcp.progress import stderr_progress
    from line_mcp.server import build_server
    from line_mcp.server.app import serve_http, serve_stdio
    from line_mcp.service import LineService

    if args.http and not 1 <= args.port <= 65535:
        raise InputError(f"--port must be 1 to 65535, got {args.port}")
    load_plugins(args.plugin)
    service = LineService(_backends(args), args.workspace, progress=stderr_progress(args.quiet))
    server = build_server(service, _loop_config(args), preload=not args.no_preload)
    if args.http:
        serve_http(
            server,
            args.host,
            args.port,
            token=args.token or os.environ.get("LINE_MCP_TOKEN") or None,
            allowed_hosts=args.allowed_host,
            allowed_origins=args.allowed_origin,
        )
    else:
        serve_stdio(server)
    return 0


def _add_preset_option(run: argparse.ArgumentParser, preset: str | None) -> None:
    from line_mcp.config import PRESETS

    run.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="apply a named setup; explicit flags override it. "
        + "; ".join(f"{name}: {p.description}" for name, p in PRESETS.items()),
    )
    if preset in PRESETS:
        run.set_defaults(**PRESETS[preset].settings())


def _peek_preset(argv: list[str]) -> str | None:
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--preset")
    return peek.parse_known_args(argv)[0].preset


def _add_evaluate_parser(commands: Any) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="score labels with the CoSy protocol (AUC, MAD, AUPRC, Mann-Whitney p)",
        description="Draw each label with the evaluation prompt and seed, and compare the "
        "neuron's activations on those images with its activations on a control set. "
        "--generator/--control name what the loop used; by default the evaluation draws "
        "from sources the loop did not (held-out), and the report says which.",
    )
    what = evaluate.add_mutually_exclusive_group(required=True)
    what.add_argument("--label", help="one label, scored for every neuron of --neurons")
    what.add_argument("--run", help="run ids in the workspace, comma-separated, or 'all'")
    what.add_argument(
        "--csv", help="a label CSV: neuron,label[,layer] or CLIP-Dissect or INVERT layout"
    )
    evaluate.add_argument("--neurons", help="with --label: indices and ranges, e.g. 3,17,40-45")
    group = evaluate.add_argument_group("evaluation sources and drawing")
    group.add_argument(
        "--eval-generator", help="generator that draws the labels (default: held-out)"
    )
    group.add_argument("--eval-control", help="control set spec (default: held-out)")
    group.add_argument(
        "--eval-prompt",
        default="realistic photo of a close up of {concept}",
        help="template with {concept} (default: CoSy's close-up photo prompt)",
    )
    group.add_argument("--eval-images", type=int, default=50, help="images per label (default 50)")
    group.add_argument(
        "--eval-seed", type=int, default=1, help="the evaluation's own seed (default 1)"
    )
    group.add_argument("--output", help="write the JSON report here")
    _add_backend_options(evaluate)


def _add_draw_parser(commands: Any) -> None:
    draw = commands.add_parser(
        "draw",
        help="draw a concept with the image generator and print where each image came from",
        description="Draw CONCEPT with the loop's prompts and seeds, write the images and print "
        "their provenance as JSON (source images, labels, match scores, attributes), so you can "
        "see what the image source makes of a concept.",
    )
    draw.add_argument("concept", help="the concept, e.g. 'two red cats'")
    draw.add_argument("--images", type=int, default=5, help="images to draw (default 5)")
    draw.add_argument("--out", help="folder for the PNGs (default: WORKSPACE/draw/CONCEPT)")
    draw.add_argument("--seed", type=int, default=0, help="the run seed (default 0)")
    _add_backend_options(draw)


def _draw(args: argparse.Namespace) -> int:
    import re

    from line_mcp.config import LoopConfig
    from line_mcp.core.concepts import checked_concept
    from line_mcp.core.provenance import describe
    from line_mcp.engine.drawing import draw_requests
    from line_mcp.service import LineService

    if not 1 <= args.images <= 64:
        raise InputError(f"--images must be 1 to 64, got {args.images}")
    loop = LoopConfig(seed=args.seed)
    args.concept = checked_concept(args.concept, loop.max_concept_words)
    service = LineService(_backends(args), args.workspace)
    requests = draw_requests(args.concept, args.images, loop)
    drawn = service.backends.generator.generate(requests)  # a concept it cannot show raises here
    slug = re.sub(r"[^a-z0-9]+", "-", args.concept.lower()).strip("-") or "concept"
    out = Path(args.out) if args.out else service.workspace.root / "draw" / slug
    out.mkdir(parents=True, exist_ok=True)
    images = []
    for k, (request, image) in enumerate(zip(requests, drawn, strict=True)):
        path = out / f"{slug}-{k}.png"
        image.image.save(path)
        images.append(
            {
                "file": str(path),
                "prompt": request.prompt,
                "seed": request.seed,
                "drawn_from": describe(image.source),
                "source": image.source,
            }
        )
    generator = service.backends.generator
    print(json.dumps({"concept": args.concept, "generator": generator.name, "images": images}))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from line_mcp.config import LoopConfig
    from line_mcp.core.concepts import checked_concept
    from line_mcp.evaluation.cosy import (
        EvaluationConfig,
        evaluate_labels,
        labels_from_runs,
    )
    from line_mcp.evaluation.labels import LabelRow, read_label_csv
    from line_mcp.progress import stderr_progress

    backends = _backends(args)
    if args.label is not None:
        if not args.neurons:
            raise InputError("--label needs --neurons (which neurons the label describes)")
        label = checked_concept(args.label, LoopConfig().max_concept_words)
        rows = [LabelRow(n, label) for n in parse_neurons(args.neurons)]
    elif args.neurons:
        raise InputError("--neurons goes with --label only; runs and CSVs name their neurons")
    elif args.run is not None:
        run_backends, rows = labels_from_runs(args.workspace, _run_ids(args.run))
        backends = run_backends.model_copy(update={"device": backends.device})
    else:
        rows = read_label_csv(args.csv)
    config = EvaluationConfig(
        prompt=args.eval_prompt,
        images_per_concept=args.eval_images,
        seed=args.eval_seed,
        generator=args.eval_generator,
        control=args.eval_control,
    )
    report = evaluate_labels(
        backends, args.workspace, rows, config, progress=stderr_progress(args.quiet)
    )
    sources = report.sources
    print(
        f"evaluation images: {sources.generator} (held out from the loop's "
        f"{sources.loop_generator}: {'yes' if sources.held_out_generator else 'no'}); "
        f"control: {sources.control} (held out: {'yes' if sources.held_out_control else 'no'})"
    )
    header = ("layer", "neuron", "label", "AUC", "MAD", "AUPRC", "p (MW)")
    print_table(
        header,
        [
            (
                s.layer,
                str(s.neuron),
                s.label,
                f"{s.auc:.3f}",
                f"{s.mad:.2f}",
                f"{s.auprc:.3f}",
                f"{s.mann_whitney_p:.2g}",
            )
            for s in report.scores
        ],
    )
    if args.output:
        from line_mcp.store import atomic_write_bytes

        atomic_write_bytes(Path(args.output), report.model_dump_json(indent=1).encode())
        print(f"report: {args.output}")
    pages = _refresh_pages(args.workspace, backends.target, report.scores)
    if pages is not None:
        print(f"run pages with these grades: {pages}")
    return 0


def _refresh_pages(workspace_path: str, target: str, scores: Sequence[Any]) -> Path | None:
    """Rewrite the report pages of the runs whose neurons were just graded (None: no such run)."""
    from line_mcp.report import write_reports
    from line_mcp.store import Workspace

    workspace = Workspace(workspace_path)
    graded = {(s.layer, s.neuron) for s in scores}
    records = [
        r
        for r in workspace.load_runs(["all"])
        if (r.layer, r.neuron) in graded and r.backends.get("target") == target
    ]
    if not records:
        return None
    return write_reports(workspace, records, workspace.root / "reports")


def _given(args: argparse.Namespace, model: type[Any]) -> dict[str, Any]:
    """The fields of ``model`` given on the command line or by a preset."""
    return {
        name: value
        for name in model.model_fields
        if (value := getattr(args, name, None)) is not None
    }


def _backends(args: argparse.Namespace):
    from line_mcp.config import BackendConfig

    return BackendConfig(**_given(args, BackendConfig))


def _loop_config(args: argparse.Namespace):
    from line_mcp.config import LoopConfig

    return LoopConfig(**_given(args, LoopConfig))


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print rows under a header in left-aligned columns (the CLI's one table layout).

    Example:
        >>> print_table(("neuron", "label"), [("3", "zebra"), ("17", "red car")])
        neuron  label
        ------  -------
        3       zebra
        17      red car
    """
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _label_row(record: Any) -> dict[str, Any]:
    label = record.label
    return {
        "neuron": record.neuron,
        "concept": record.concept_index,
        "label": label.concept if label else None,
        "score": label.score if label else None,
        "source": (("generated" if label.novel else "vocabulary") if label else None),
        "step": label.step if label else None,
        "best_vocabulary": record.init.entries[0].concept if record.init else None,
        "best_vocabulary_score": record.init.entries[0].score if record.init else None,
        "status": record.status,
        "error": record.error,
        "run_id": record.run_id,
    }


def _print_labels(rows: list[dict[str, Any]]) -> None:
    header = ("neuron", "label", "score", "source", "step", "best vocabulary label")
    several = any(r.get("concept", 1) > 1 for r in rows)  # --concepts K: "neuron#k"
    lines = [
        (
            f"{r['neuron']}#{r.get('concept', 1)}" if several else str(r["neuron"]),
            str(r["label"] or f"({r['status']})"),
            f"{r['score']:.3f}" if r["score"] is not None else "-",
            r["source"] or "-",
            str(r["step"] if r["step"] is not None else "-"),
            f"{r['best_vocabulary']} ({r['best_vocabulary_score']:.3f})"
            if r["best_vocabulary"]
            else "-",
        )
        for r in rows
    ]
    print_table(header, lines)


def _run_loop(args: argparse.Namespace) -> int:
    from line_mcp.engine.stopwatch import Stopwatch
    from line_mcp.loop import LoopError, run_id_for
    from line_mcp.progress import stderr_progress
    from line_mcp.service import LineService

    neurons = parse_neurons(args.neurons)
    backends, config = _backends(args), _loop_config(args)
    progress = stderr_progress(args.quiet)
    service = LineService(backends, args.workspace, progress=progress)
    if args.engine == "local":  # Ray actors check on their own copy of the target
        service.backends.check_neuron(max(neurons))
    if args.concepts < 1:
        raise InputError(f"--concepts must be 1 or more, got {args.concepts}")
    clock = Stopwatch()
    rows: list[dict[str, Any]] = []
    records: list[RunRecord] = []
    failed = 0
    positions = {neuron: position for position, neuron in enumerate(neurons, 1)}
    finished: set[int] = set()

    def on_step(record):
        what = "initial scoreboard built"
        if record.status == "finished":
            finished.add(record.neuron)
            progress("neurons", len(finished), len(neurons))
            what = f"finished: {record.label.concept} ({record.label.score:.3f})"
            if record.concept_index > 1:
                what = f"concept {record.concept_index} {what}"
        elif record.steps:
            last = record.steps[-1]
            score = f" scored {last.score:.3f}" if last.score is not None else ""
            what = f"step {last.step}: {last.concept or 'no valid proposal'}{score}"
        if not args.quiet:
            print(
                f"[line-mcp] neuron {record.neuron} ({positions[record.neuron]}/{len(neurons)}): "
                f"{what}",
                file=sys.stderr,
                flush=True,
            )

    from line_mcp.layer import DEFAULT_BATCH_NEURONS, NeuronResult, label_neurons

    batch = DEFAULT_BATCH_NEURONS if args.batch_neurons is None else args.batch_neurons
    if args.engine == "ray" or args.concepts == 1:
        results: Sequence[NeuronResult]
        if args.engine == "ray":
            if args.concepts > 1:
                raise InputError("--engine ray labels one concept per neuron: drop --concepts")
            from line_mcp.distributed import label_with_ray

            results = label_with_ray(
                backends,
                service.workspace,
                config,
                neurons,
                address=args.ray_address,
                workers=args.ray_workers,
                worker_workspace=args.ray_worker_workspace,
                batch_neurons=batch,
                progress=progress,
            )
        else:
            results = label_neurons(service, neurons, config, batch, on_step, clock)
        for result in results:
            if result.error is not None:
                print(f"[line-mcp] neuron {result.neuron} failed: {result.error}", file=sys.stderr)
                failed += 1
            rows.append(_label_row(result.record))
            records.append(result.record)
    else:
        from line_mcp.polysemantic import label_concepts

        for neuron in neurons:
            try:
                found = label_concepts(
                    service, neuron, config, args.concepts, on_step=on_step, clock=clock
                )
            except LoopError as err:
                print(f"[line-mcp] neuron {neuron} failed: {err}", file=sys.stderr)
                failed += 1
                first = service.workspace.load_run(run_id_for(service, neuron, config))
                found = [first] if first is not None else []
            rows.extend(_label_row(r) for r in found)
            records.extend(found)
    _print_labels(rows)
    summary_path = Path(
        args.summary_file or Path(service.workspace.root) / f"labels-{backends.layer}.json"
    )
    summary = {
        "backends": backends.to_dict(),
        "config": config.to_dict(),
        "fingerprints": service.backends.fingerprints(),
        "seconds": {**service.backends.clock.totals(), **clock.totals()},
        "workspace": str(service.workspace.root),
        "this_call": [r["run_id"] for r in rows],
        "labels": _merged_labels(service.workspace, backends, rows),
    }
    from line_mcp.store import atomic_write_bytes

    atomic_write_bytes(summary_path, json.dumps(summary, indent=1).encode())
    from line_mcp.report import write_reports

    index = write_reports(service.workspace, records, Path(service.workspace.root) / "reports")
    generated = sum(1 for r in rows if r["source"] == "generated")
    print(
        f"\n{generated} of {len(rows)} labels were generated by the loop; summary: {summary_path}"
        f"; pages with the images: {index}"
    )
    return 1 if failed else 0


def _merged_labels(
    workspace: Any, backends: Any, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """This call's label rows and those of every finished run of the same target and layer
    stored in the workspace, by neuron: ``labels-LAYER.json`` accumulates."""
    merged = {
        record.run_id: _label_row(record)
        for record in workspace.load_runs(["all"])
        if record.status == "finished"
        and record.layer == backends.layer
        and record.backends.get("target") == backends.target
    }
    merged.update((r["run_id"], r) for r in rows)
    return sorted(merged.values(), key=lambda r: (r["neuron"], r["concept"], r["run_id"]))


def _run_ids(text: str) -> list[str]:
    """``--run``: comma-separated run ids, or 'all'."""
    return [r.strip() for r in text.split(",") if r.strip()]


def _report(args: argparse.Namespace) -> int:
    from line_mcp.report import write_reports
    from line_mcp.store import Workspace

    if not Path(args.workspace).is_dir():
        raise InputError(f"no workspace at {args.workspace}: run `line-mcp run-loop` first")
    workspace = Workspace(args.workspace)
    records = workspace.load_runs(_run_ids(args.run))
    if not records:
        raise InputError(f"no runs in {args.workspace}")
    index = write_reports(workspace, records, args.output or Path(args.workspace) / "reports")
    print(f"{len(records)} run page(s); open {index}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    from line_mcp.service import LineService

    service = LineService(_backends(args), args.workspace)
    print(json.dumps(service.backends.describe(), indent=1))
    return 0


def _list_backends() -> int:
    from line_mcp.backends.registry import ROLES, registrations

    for role in ROLES:
        print(f"{role}:")
        for r in registrations(role):
            print(f"  {r.scheme:<20} {r.summary}\n  {'':<20} e.g. {r.example}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``line-mcp`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_peek_preset(argv)).parse_args(argv)
    if getattr(args, "preset", None) and args.control is None:
        from line_mcp.config import PRESETS

        print(
            f"line-mcp: error: {PRESETS[args.preset].missing_control(args.preset)}", file=sys.stderr
        )
        return 2
    from pydantic import ValidationError

    from line_mcp.errors import user_message

    if args.command in ("run-loop", "evaluate", "describe", "serve", "draw"):
        from line_mcp.backends.hub import offline_unless_reachable

        offline_unless_reachable()  # no retry storm against an unreachable hub
    try:
        if args.command == "run-loop":
            return _run_loop(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "describe":
            return _describe(args)
        if args.command == "report":
            return _report(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "draw":
            return _draw(args)
        return _list_backends()
    except (LineError, ValidationError) as err:  # meant for the user: what was wrong
        print(f"line-mcp: error: {user_message(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # a path the command cannot read or write (--out, --csv, ...)
        where = f" {err.filename}" if err.filename else ""
        print(
            f"line-mcp: error: cannot use{where}: {err.strerror or err}; give a path that "
            "exists and is writable",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("line-mcp: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, not a user mistake: show where it happened
        import traceback

        traceback.print_exc()
        print(f"line-mcp: internal error ({type(err).__name__}); please report it", file=sys.stderr)
        return 1
