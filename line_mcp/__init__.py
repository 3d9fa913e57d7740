"""line-mcp: LINE neuron labeling (LLM-based Iterative Neuron Explanations).

The package is layered: ``line_mcp.core`` is the pure algorithm (no torch at
import), ``line_mcp.backends`` holds the model roles behind one registry,
``line_mcp.service`` composes them over a workspace on disk, and ``line_mcp.cli``
is a thin shell over the service.
"""

__version__ = "0.1.0"
