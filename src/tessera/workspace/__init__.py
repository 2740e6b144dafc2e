"""Workspaces: a folder holding a DuckDB database and its configuration."""

from tessera.workspace.workspace import Workspace, WorkspaceConfig

__all__ = ["Workspace", "WorkspaceConfig"]
