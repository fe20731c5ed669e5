"""Projects: codex-manager's own named groups of sessions (routes reference §6), kept here.

A project is metadata only: a name (unique case-insensitively), an optional working
directory and its times. Which project a session belongs to is the session's `project_id`,
persisted with the session record, so an assignment and its session can never disagree after
a restart. The book is the in-memory view of the store's `projects` table; every change is
written before it is applied (`Hub._write_first`): a refused write changes nothing.

The working directory is stored and echoed, never used: no session's cwd comes from it (upstream
uses it for agent worker sessions, which this gateway does not run), so it cannot widen what the
session ceiling allows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from teammesh.gateway.clock import iso_now
from teammesh.gateway.store import Store


@dataclass
class Project:
    id: str
    name: str
    working_directory: str | None
    created_at: str  # ISO
    updated_at: str

    def summary(self) -> dict[str, Any]:
        """ProjectSummary, the record and the wire rendering alike."""
        return {
            "projectId": self.id,
            "name": self.name,
            "workingDirectory": self.working_directory,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Project:
        return cls(
            id=str(data["projectId"]),
            name=str(data["name"]),
            working_directory=data.get("workingDirectory"),
            created_at=str(data["createdAt"]),
            updated_at=str(data["updatedAt"]),
        )


def _fold(name: str) -> str:
    return name.casefold()


class ProjectBook:
    def __init__(self, store: Store) -> None:
        self._projects: dict[str, Project] = {
            p.id: p for p in (Project.from_record(r) for r in store.load_projects())
        }

    @property
    def count(self) -> int:
        return len(self._projects)

    def get(self, project_id: str) -> Project | None:
        return self._projects.get(project_id)

    def listing(self) -> list[Project]:
        return sorted(self._projects.values(), key=lambda p: (_fold(p.name), p.name, p.id))

    def named(self, name: str, *, other_than: str | None = None) -> Project | None:
        """The project already called `name` (case-insensitively), other than `other_than`."""
        folded = _fold(name)
        for project in self._projects.values():
            if project.id != other_than and _fold(project.name) == folded:
                return project
        return None

    @staticmethod
    def new(name: str, working_directory: str | None) -> Project:
        at = iso_now()
        return Project(str(uuid.uuid4()), name, working_directory, at, at)

    def put(self, project: Project) -> None:
        """Apply a project whose record is already written."""
        self._projects[project.id] = project

    def remove(self, project_id: str) -> None:
        self._projects.pop(project_id, None)
