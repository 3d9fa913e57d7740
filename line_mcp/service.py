"""The LINE engine, wired: its components built once over one set of backends and one workspace.

:class:`LineService` holds no logic of its own; it builds the components of
:mod:`line_mcp.engine` and hands each the others it needs, the way a pipeline
receives its models:

- ``backends`` (:class:`~line_mcp.engine.backends.Backends`): the loaded backends;
- ``drawing`` (:class:`~line_mcp.engine.drawing.Drawing`): images and activations, cached;
- ``vocabulary`` (:class:`~line_mcp.engine.vocabulary.Vocabulary`): the initial board;
- ``proposals`` (:class:`~line_mcp.engine.proposals.Proposals`): the next concept;
- ``ablation`` (:class:`~line_mcp.engine.ablation.Ablation`): concept removal.

Drivers take the components they use; tests inject fakes through the
constructor (``prebuilt`` backends, ``knowledge``) instead of overwriting attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from line_mcp.config import BackendConfig
from line_mcp.core.candidates import ConceptKnowledge
from line_mcp.engine.ablation import Ablation
from line_mcp.engine.backends import Backends, NeuronError
from line_mcp.engine.drawing import ConceptImages, ConceptScore, Drawing
from line_mcp.engine.proposals import Proposal, Proposals
from line_mcp.engine.vocabulary import Vocabulary, VocabularyScores
from line_mcp.progress import ProgressCallback, no_progress
from line_mcp.store.workspace import Workspace

__all__ = [
    "ConceptImages",
    "ConceptScore",
    "LineService",
    "NeuronError",
    "Proposal",
    "VocabularyScores",
]


class LineService:
    """LINE's components over one set of backends and one workspace.

    Args:
        backends: Which implementation fills each role, or an already built
            :class:`~line_mcp.engine.backends.Backends` container (shared models).
        workspace: The workspace folder or object.
        progress: Called as long work (vocabulary scoring, long draws) advances.
        prebuilt: Already built backends by role, used instead of their specs.
        knowledge: The candidate source of guided proposals (default: WordNet and
            the generator's bank labels).

    Example:
        >>> service = LineService(BackendConfig(), "./line-workspace")  # doctest: +SKIP
        >>> service.drawing.score_concept(12, "zebra", LoopConfig()).score  # doctest: +SKIP
        3.41
    """

    def __init__(
        self,
        backends: BackendConfig | Backends,
        workspace: Workspace | str | Path,
        progress: ProgressCallback = no_progress,
        *,
        prebuilt: Mapping[str, Any] | None = None,
        knowledge: ConceptKnowledge | None = None,
    ) -> None:
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        self.backends = (
            backends
            if isinstance(backends, Backends)
            else Backends(backends, self.workspace.root, prebuilt)
        )
        self.progress = progress
        self.drawing = Drawing(self.backends, self.workspace, progress)
        self.vocabulary = Vocabulary(self.backends, self.workspace, self.drawing, progress)
        self.proposals = Proposals(self.backends, knowledge)
        self.ablation = Ablation(self.backends, self.workspace, self.drawing)

    @property
    def config(self) -> BackendConfig:
        """The backend specs."""
        return self.backends.config

    def with_backends(self, **changes: str) -> LineService:
        """The same workspace and progress over backends with some specs changed
        (unchanged backends are shared; see :meth:`Backends.with_backends`)."""
        return LineService(self.backends.with_backends(**changes), self.workspace, self.progress)

    def with_progress(self, progress: ProgressCallback) -> LineService:
        """The same backends and workspace reporting progress to ``progress``."""
        return LineService(
            self.backends, self.workspace, progress, knowledge=self.proposals.given_knowledge
        )
