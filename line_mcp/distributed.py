"""Label a layer's neurons over Ray actors: ``line-mcp run-loop --engine ray``.

Each actor builds the backends once and keeps them loaded (one actor per GPU
where the cluster has GPUs, else ``workers`` CPU actors) and labels the
shards of neurons it is handed through :func:`line_mcp.layer.label_neurons`,
the same function the local run calls (one lockstep batch per shard). The
driver hands out one shard of ``batch_neurons`` neurons at a time, saves every
returned record into its workspace, and reports progress.

- A killed worker: Ray restarts the actor (``max_restarts``) and re-runs its
  task (``max_task_retries``); a task that still fails is handed to another
  actor up to ``retries`` times. The neuron resumes from its last saved step
  when the worker's workspace is the driver's (the default).
- A killed driver: run the same command again; finished neurons are read from
  the workspace and not handed out, unfinished ones resume per step.

Workers write images and activations to ``worker_workspace`` (default: the
driver's workspace, which suits one machine and a cluster with a shared
filesystem that supports SQLite locking; on a cluster without one, give a
node-local folder: records still reach the driver, the images stay on the
nodes). Ray is an optional extra (``pip install -e ".[ray]"``); it is imported
only here, inside the functions.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from line_mcp.backends.registry import PLUGINS_ENV
from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.core.records import RunRecord
from line_mcp.errors import InputError, LineError
from line_mcp.layer import DEFAULT_BATCH_NEURONS, NeuronResult, label_neurons
from line_mcp.progress import ProgressCallback, no_progress
from line_mcp.service import LineService
from line_mcp.store.workspace import Workspace

#: Ray namespace of the actors; an actor is named ``line-worker-K`` in it.
NAMESPACE = "line-mcp"
_RAY_HINT = 'Ray is an optional extra: pip install -e ".[ray]" (or pip install ray)'


class DistributedError(LineError, RuntimeError):
    """The Ray run could not go on (no live worker, or Ray itself failed)."""


@dataclass
class WorkerResult(NeuronResult):
    """A :class:`~line_mcp.layer.NeuronResult` and the worker that labeled it (``host:pid``)."""

    worker: str = ""


class ShardWorker:
    """A Ray actor: the backends built once, labeling the neurons it is handed.

    Args:
        backends: ``BackendConfig.to_dict()``.
        workspace: The worker's workspace folder.
        plugins: Backend plugin modules to import first.
    """

    def __init__(self, backends: dict[str, Any], workspace: str, plugins: Sequence[str]) -> None:
        from line_mcp.backends.registry import load_plugins

        load_plugins(list(plugins))
        self.service = LineService(BackendConfig.from_dict(backends), workspace)
        # The LLM waits for a loop config that asks it (guided proposals never do).
        self.service.backends.load(skip=("proposer",))

    def pid(self) -> int:
        """The worker's process id."""
        return os.getpid()

    def prepare(self, config: dict[str, Any]) -> None:
        """Score the layer's vocabulary (or its screen) once, before neurons are handed out."""
        self.service.vocabulary.prepare(LoopConfig.from_dict(config))

    def label(
        self, neurons: list[int], config: dict[str, Any], batch_neurons: int
    ) -> list[dict[str, Any]]:
        """Label (or resume) a shard of neurons; one result dict per neuron."""
        loop = LoopConfig.from_dict(config)
        worker = f"{socket.gethostname()}:{os.getpid()}"
        return [
            {
                "neuron": r.neuron,
                "record": r.record.model_dump(mode="json"),
                "error": r.error,
                "worker": worker,
            }
            for r in label_neurons(self.service, neurons, loop, batch_neurons)
        ]


def _init_ray(address: str | None) -> Any:
    try:
        import ray
    except ImportError as err:
        raise InputError(f"--engine ray needs Ray: {_RAY_HINT}") from err
    if not ray.is_initialized():
        env = {PLUGINS_ENV: os.environ[PLUGINS_ENV]} if os.environ.get(PLUGINS_ENV) else {}
        ray.init(
            address=address,
            namespace=NAMESPACE,
            include_dashboard=False,
            runtime_env={"env_vars": env} if env else None,
            log_to_driver=True,
        )
    return ray


def worker_plan(ray: Any, workers: int | None) -> tuple[int, float]:
    """How many actors, and GPUs per actor: one per GPU when the cluster has GPUs."""
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if workers is not None and workers < 1:
        raise InputError(f"--ray-workers must be 1 or more, got {workers}")
    if gpus:
        return (workers or gpus), 1.0
    return (workers or 2), 0.0


def label_with_ray(
    backends: BackendConfig,
    workspace: Workspace,
    config: LoopConfig,
    neurons: Sequence[int],
    *,
    address: str | None = None,
    workers: int | None = None,
    worker_workspace: str | Path | None = None,
    plugins: Sequence[str] = (),
    batch_neurons: int = DEFAULT_BATCH_NEURONS,
    retries: int = 2,
    max_restarts: int = 3,
    progress: ProgressCallback = no_progress,
) -> list[WorkerResult]:
    """Label neurons over Ray actors and save every record into ``workspace``.

    Args:
        backends: The backends every actor builds.
        workspace: The driver's workspace: records are saved here.
        config: The loop's numbers and seed.
        neurons: The neurons of ``backends.layer`` to label.
        address: A Ray cluster (``auto``, ``ray://host:10001``); None starts a local one.
        workers: Actors (default: one per GPU, else 2 on CPU).
        worker_workspace: The actors' workspace (default: ``workspace``).
        plugins: Backend plugin modules every actor imports.
        batch_neurons: Neurons per shard, labeled by one actor in lockstep.
        retries: Driver-side re-runs of a shard whose task failed after Ray's retries.
        max_restarts: Restarts of a killed actor (Ray ``max_restarts``).
        progress: Receives "neurons" (done of total) as records arrive.

    Returns:
        One result per neuron, in the order given.

    Raises:
        InputError: Ray is not installed, or a bad worker count.
        DistributedError: every actor died for good, or a neuron kept failing.
    """
    ray = _init_ray(address)
    service = LineService(backends, workspace)  # run ids and stored runs; loads no model
    from line_mcp.loop import run_id_for

    results: dict[int, WorkerResult] = {}
    todo: list[int] = []
    for neuron in dict.fromkeys(neurons):
        stored = workspace.load_run(run_id_for(service, neuron, config))
        if stored is not None and stored.status == "finished":
            results[neuron] = WorkerResult(neuron=neuron, record=stored, worker="workspace")
        else:
            todo.append(neuron)
    total = len(results) + len(todo)
    progress("neurons", len(results), total)
    if batch_neurons < 1:
        raise InputError(f"batch_neurons must be 1 or more, got {batch_neurons}")
    shards = [todo[i : i + batch_neurons] for i in range(0, len(todo), batch_neurons)]
    if shards:
        _run_actors(ray, backends, workspace, config, shards, batch_neurons, results, total,
                    progress, workers=workers, worker_workspace=worker_workspace,
                    plugins=plugins, retries=retries, max_restarts=max_restarts)  # fmt: skip
    return [results[n] for n in dict.fromkeys(neurons)]


def _run_actors(
    ray: Any,
    backends: BackendConfig,
    workspace: Workspace,
    config: LoopConfig,
    shards: list[list[int]],
    batch_neurons: int,
    results: dict[int, WorkerResult],
    total: int,
    progress: ProgressCallback,
    *,
    workers: int | None,
    worker_workspace: str | Path | None,
    plugins: Sequence[str],
    retries: int,
    max_restarts: int,
) -> None:
    from ray.exceptions import RayActorError, RayTaskError

    count, gpus = worker_plan(ray, workers)
    count = min(count, len(shards))
    folder = str(Path(worker_workspace or workspace.root).expanduser().resolve())
    actor_class = ray.remote(ShardWorker)
    actors = [
        actor_class.options(
            name=f"line-worker-{k}",
            num_gpus=gpus,
            num_cpus=0 if gpus else 1,
            max_restarts=max_restarts,
            max_task_retries=max_restarts,
        ).remote(backends.to_dict(), folder, list(plugins))
        for k in range(count)
    ]
    loop = config.to_dict()
    try:
        ray.get(actors[0].prepare.remote(loop))  # the layer's vocabulary, once
        queue = list(range(len(shards)))
        attempts = dict.fromkeys(queue, 0)
        running: dict[Any, tuple[Any, int]] = {}
        idle = list(actors)
        while queue or running:
            while queue and idle:
                actor, shard = idle.pop(0), queue.pop(0)
                running[actor.label.remote(shards[shard], loop, batch_neurons)] = (actor, shard)
            (ready,), _ = ray.wait(list(running), num_returns=1)
            actor, shard = running.pop(ready)
            try:
                returned = ray.get(ready)
            except RayTaskError as err:  # the code raised: a LineError is the user's to see
                cause = getattr(err, "cause", None)
                if isinstance(cause, LineError):
                    raise cause from None
                raise DistributedError(
                    f"neurons {shards[shard]} failed on a Ray worker: {err}"
                ) from err
            except RayActorError as err:  # the worker died after Ray's own retries
                attempts[shard] += 1
                if attempts[shard] > retries:
                    raise DistributedError(
                        f"neurons {shards[shard]}: their Ray worker died {attempts[shard]} "
                        f"times (last: {err}); see the Ray logs"
                    ) from err
                queue.insert(0, shard)
                if _alive(ray, actor):
                    idle.append(actor)
                elif not idle and not running:
                    raise DistributedError(
                        "every Ray worker died for good; see the Ray logs"
                    ) from err
                continue
            for item in returned:
                record = RunRecord.model_validate(item["record"])
                workspace.save_run(record)  # merge into the driver's workspace
                results[item["neuron"]] = WorkerResult(
                    neuron=item["neuron"], record=record, error=item["error"],
                    worker=item["worker"],
                )  # fmt: skip
            idle.append(actor)
            progress("neurons", len(results), total)
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)


def _alive(ray: Any, actor: Any) -> bool:
    try:
        ray.get(actor.pid.remote(), timeout=60)
        return True
    except Exception:
        return False
