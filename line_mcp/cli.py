"""The ``line-mcp`` command line. Heavy imports happen inside the commands, so
``line-mcp --help`` answers instantly."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_WORKSPACE = "line-workspace"


def parse_neurons(text: str) -> list[int]:
    """Parse ``"3,17,40-45"`` into ``[3, 17, 40, 41, 42, 43, 44, 45]``.

    Raises:
        ValueError: with the offending part and the accepted syntax.
    """
    neurons: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        low, dash, high = part.partition("-")
        try:
            if not dash:
                neurons.append(int(part))
                continue
            first, last = int(low), int(high)
        except ValueError:
            raise ValueError(
                f"bad neuron list part {part!r} in {text!r}: use indices and ranges like 3,17,40-45"
            ) from None
        if first > last or first < 0:
            raise ValueError(f"bad neuron range {part!r}: write low-high with 0 <= low <= high")
        neurons.extend(range(first, last + 1))
    if any(n < 0 for n in neurons):
        raise ValueError(f"neuron indices must be >= 0, got {text!r}")
    return list(dict.fromkeys(neurons))


def _add_backend_options(parser: argparse.ArgumentParser) -> None:
    from line_mcp.config import BackendConfig

    defaults = BackendConfig()
    group = parser.add_argument_group("backends (spec strings; see `line-mcp backends`)")
    for name in ("target", "layer", "generator", "proposer", "embedder", "control", "device"):
        group.add_argument(
            f"--{name}", default=getattr(defaults, name), help=f"default: {getattr(defaults, name)}"
        )
    parser.add_argument(
        "--workspace",
        default=DEFAULT_WORKSPACE,
        help=f"run store folder (default: ./{DEFAULT_WORKSPACE})",
    )


def _add_loop_options(parser: argparse.ArgumentParser) -> None:
    from line_mcp.config import LoopConfig

    d = LoopConfig()
    group = parser.add_argument_group("loop (defaults are the paper's)")
    group.add_argument(
        "--iterations", type=int, default=d.iterations, help=f"N (default {d.iterations})"
    )
    group.add_argument(
        "--init-top",
        type=int,
        default=d.init_top,
        help=f"best vocabulary labels on the initial board (default {d.init_top})",
    )
    group.add_argument(
        "--init-random",
        type=int,
        default=d.init_random,
        help=f"random vocabulary labels on the initial board (default {d.init_random})",
    )
    group.add_argument(
        "--images-per-concept",
        type=int,
        default=d.images_per_concept,
        help=f"|P| (default {d.images_per_concept})",
    )
    group.add_argument(
        "--summary-top",
        type=int,
        default=d.summary_top,
        help=f"entries the summary step sees (default {d.summary_top})",
    )
    group.add_argument("--no-summary", action="store_true", help="skip the summary step")
    group.add_argument(
        "--max-retries",
        type=int,
        default=d.max_retries,
        help=f"re-asks per step for a rejected answer (default {d.max_retries})",
    )
    group.add_argument(
        "--init-scoring",
        choices=("auto", "control", "drawn"),
        default=d.init_scoring,
        help="score the vocabulary on control images or drawn like proposals (default auto)",
    )
    group.add_argument(
        "--seed", type=int, default=d.seed, help=f"seed of every random choice (default {d.seed})"
    )
    group.add_argument(
        "--proposal",
        choices=("auto", "llm", "guided", "hinted"),
        default=d.proposal,
        help="llm: free text (the paper); guided: pick among WordNet/bank/composition "
        "candidates; hinted: free text with candidates as hints; auto: guided for proposers "
        "under 1 B parameters, llm otherwise (default auto)",
    )
    group.add_argument(
        "--proposal-ranker",
        choices=("embedding", "llm", "both"),
        default=d.proposal_ranker,
        help=f"how guided proposals rank candidates (default {d.proposal_ranker})",
    )
    group.add_argument(
        "--proposal-explore",
        type=float,
        default=d.proposal_explore,
        help=f"chance a guided step samples instead of taking the best (default "
        f"{d.proposal_explore})",
    )
    group.add_argument(
        "--free-text",
        action="store_true",
        help="guided proposals also ask the LLM for its own answer, kept as one candidate",
    )


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
    if not any(a.dest == "editor" for a in serve._actions):
        serve.add_argument(
            "--editor", default=None, help="image editor spec for ablate_concept (default: none)"
        )
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


def load_plugins(modules: list[str]) -> None:
    """Import backend plugin modules (they call ``register``), plus ``$LINE_MCP_PLUGINS``."""
    import importlib
    import os

    from line_mcp.backends.registry import _load_builtin

    _load_builtin()
    names = [*modules, *os.environ.get("LINE_MCP_PLUGINS", "").split(",")]
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ValueError(f"cannot import plugin module {name!r}: {err}") from err


def _serve(args: argparse.Namespace) -> int:
    import os

    from line_mcp.progress import StderrProgress
    from line_mcp.server import build_server
    from line_mcp.server.app import serve_http
    from line_mcp.service import LineService

    load_plugins(args.plugin)
    service = LineService(_backends(args), args.workspace, progress=StderrProgress())
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
        server.run("stdio")
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
        values = PRESETS[preset].settings()
        if "summary" in values:
            values["no_summary"] = not values.pop("summary")
        run.set_defaults(**values)


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
    from line_mcp.core.provenance import describe
    from line_mcp.service import LineService

    if not 1 <= args.images <= 64:
        raise ValueError(f"--images must be 1 to 64, got {args.images}")
    service = LineService(_backends(args), args.workspace)
    requests = service.draw_requests(args.concept, args.images, LoopConfig(seed=args.seed))
    drawn = service.generator.generate(requests)  # a concept it cannot show raises here
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
    generator = service.generator
    print(json.dumps({"concept": args.concept, "generator": generator.name, "images": images}))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from line_mcp.evaluation.cosy import (
        EvaluationConfig,
        evaluate_labels,
        labels_from_runs,
    )
    from line_mcp.evaluation.labels import LabelRow, read_label_csv
    from line_mcp.progress import StderrProgress

    backends = _backends(args)
    if args.label is not None:
        if not args.neurons:
            raise ValueError("--label needs --neurons (which neurons the label describes)")
        rows = [LabelRow(n, args.label) for n in parse_neurons(args.neurons)]
    elif args.neurons:
        raise ValueError("--neurons goes with --label only; runs and CSVs name their neurons")
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
    report = evaluate_labels(backends, args.workspace, rows, config, progress=StderrProgress())
    sources = report.sources
    print(
        f"evaluation images: {sources.generator} (held out from the loop's "
        f"{sources.loop_generator}: {'yes' if sources.held_out_generator else 'no'}); "
        f"control: {sources.control} (held out: {'yes' if sources.held_out_control else 'no'})"
    )
    header = ("layer", "neuron", "label", "AUC", "MAD", "AUPRC", "p (MW)")
    lines = [
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
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    for line in [header, tuple("-" * w for w in widths), *lines]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    if args.output:
        from line_mcp.store import atomic_write_bytes

        atomic_write_bytes(Path(args.output), report.model_dump_json(indent=1).encode())
        print(f"report: {args.output}")
    return 0


def _backends(args: argparse.Namespace):
    from line_mcp.config import BackendConfig

    return BackendConfig(
        **{n: getattr(args, n) for n in BackendConfig.model_fields if hasattr(args, n)}
    )


def _loop_config(args: argparse.Namespace):
    from line_mcp.config import LoopConfig

    return LoopConfig(
        iterations=args.iterations,
        init_top=args.init_top,
        init_random=args.init_random,
        images_per_concept=args.images_per_concept,
        summary=not args.no_summary,
        summary_top=args.summary_top,
        max_retries=args.max_retries,
        init_scoring=args.init_scoring,
        seed=args.seed,
        proposal=args.proposal,
        proposal_ranker=args.proposal_ranker,
        proposal_explore=args.proposal_explore,
        proposal_free_text=args.free_text,
    )


def _label_row(record: Any) -> dict[str, Any]:
    label = record.label
    return {
        "neuron": record.neuron,
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


def _print_table(rows: list[dict[str, Any]]) -> None:
    header = ("neuron", "label", "score", "source", "step", "best vocabulary label")
    lines = [
        (
            str(r["neuron"]),
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
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    for line in [header, tuple("-" * w for w in widths), *lines]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _run_loop(args: argparse.Namespace) -> int:
    from line_mcp.loop import LoopError, label_neuron, run_id_for
    from line_mcp.progress import StderrProgress
    from line_mcp.service import LineService

    neurons = parse_neurons(args.neurons)
    backends, config = _backends(args), _loop_config(args)
    progress = StderrProgress()
    service = LineService(backends, args.workspace, progress=progress)
    service.check_neuron(max(neurons))
    rows, records, failed = [], [], 0
    for position, neuron in enumerate(neurons, 1):

        def on_step(record, position=position):
            what = "initial scoreboard built"
            if record.status == "finished":
                what = f"finished: {record.label.concept} ({record.label.score:.3f})"
            elif record.steps:
                last = record.steps[-1]
                score = f" scored {last.score:.3f}" if last.score is not None else ""
                what = f"step {last.step}: {last.concept or 'no valid proposal'}{score}"
            print(
                f"[line-mcp] neuron {record.neuron} ({position}/{len(neurons)}): {what}",
                file=sys.stderr,
                flush=True,
            )

        try:
            record = label_neuron(service, neuron, config, on_step=on_step)
        except LoopError as err:
            print(f"[line-mcp] neuron {neuron} failed: {err}", file=sys.stderr)
            failed += 1
            record = service.workspace.load_run(run_id_for(service, neuron, config))
        rows.append(_label_row(record))
        records.append(record)
    _print_table(rows)
    summary_path = Path(
        args.summary_file or Path(service.workspace.root) / f"labels-{backends.layer}.json"
    )
    summary = {
        "backends": backends.to_dict(),
        "config": config.to_dict(),
        "fingerprints": service.fingerprints(),
        "seconds": dict(service.seconds),
        "workspace": str(service.workspace.root),
        "labels": rows,
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


def _run_ids(text: str) -> list[str]:
    """``--run``: comma-separated run ids, or 'all'."""
    return [r.strip() for r in text.split(",") if r.strip()]


def _report(args: argparse.Namespace) -> int:
    from line_mcp.report import write_reports
    from line_mcp.store import Workspace

    if not Path(args.workspace).is_dir():
        raise ValueError(f"no workspace at {args.workspace}: run `line-mcp run-loop` first")
    workspace = Workspace(args.workspace)
    records = workspace.load_runs(_run_ids(args.run))
    if not records:
        raise ValueError(f"no runs in {args.workspace}")
    index = write_reports(workspace, records, args.output or Path(args.workspace) / "reports")
    print(f"{len(records)} run page(s); open {index}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    from line_mcp.service import LineService

    service = LineService(_backends(args), args.workspace)
    print(json.dumps(service.describe(), indent=1))
    return 0


def _list_backends() -> int:
    from line_mcp.backends.registry import ROLES, _load_builtin, registrations

    _load_builtin()
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

    from line_mcp.backends.registry import BackendError
    from line_mcp.service import NeuronError
    from line_mcp.store import WorkspaceError

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
    except (BackendError, NeuronError, WorkspaceError, ValueError) as err:
        message = str(err)
        if isinstance(err, ValidationError):
            message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        print(f"line-mcp: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("line-mcp: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
