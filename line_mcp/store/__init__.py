"""The workspace on disk: run records, content-addressed images, activation caches."""

from line_mcp.store.workspace import Workspace, WorkspaceError, atomic_write_bytes

__all__ = ["Workspace", "WorkspaceError", "atomic_write_bytes"]
