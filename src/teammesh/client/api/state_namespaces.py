"""The namespaces over codex-manager's own state: `extensions`, `orchestrator`, `projects`.

Upstream gives most of these no allow-list (every non-2xx raises, routes §9.2), so on a
server without that state (this gateway answers 501) they raise `ServerError`.
"""

from __future__ import annotations

from typing import Any, Literal

from teammesh.client.api._base import DomainApi

JobState = Literal["queued", "running", "completed", "failed", "canceled"]
ChatsDestination = Literal["unassigned", "archive"]


class ExtensionsApi(DomainApi):
    def list(self) -> Any:
        return self._op("extensions.list")

    def reload(self) -> Any:
        return self._op("extensions.reload")


class OrchestratorApi(DomainApi):
    def get(self, *, job_id: str) -> Any:
        return self._op("orchestrator.jobs.get", params={"jobId": job_id})

    def list(self, *, project_id: str, state: JobState | None = None) -> Any:
        return self._op(
            "orchestrator.jobs.list", params={"projectId": project_id}, query={"state": state}
        )

    def cancel(self, *, job_id: str) -> Any:
        return self._op("orchestrator.jobs.cancel", params={"jobId": job_id})


class ProjectsApi(DomainApi):
    def list(self) -> Any:
        return self._op("projects.list")

    def create(self, *, name: str) -> Any:
        return self._op("projects.create", json_body={"name": name})

    def rename(self, *, project_id: str, name: str) -> Any:
        return self._op(
            "projects.rename", params={"projectId": project_id}, json_body={"name": name}
        )

    def delete(self, *, project_id: str) -> Any:
        return self._op("projects.delete", params={"projectId": project_id})

    def list_agent_sessions(self, *, project_id: str) -> Any:
        return self._op("projects.agent_sessions.list", params={"projectId": project_id})

    def move_all_chats(self, *, project_id: str, destination: ChatsDestination) -> Any:
        return self._op(
            "projects.chats.move_all",
            params={"projectId": project_id},
            json_body={"destination": destination},
        )

    def delete_all_chats(self, *, project_id: str) -> Any:
        # `{}`, not no body: upstream rejects a JSON content type with an empty body.
        return self._op(
            "projects.chats.delete_all", params={"projectId": project_id}, json_body={}
        )

    def orchestrator_jobs(self, *, project_id: str, state: JobState | None = None) -> Any:
        return self._op(
            "projects.orchestrator.jobs.list",
            params={"projectId": project_id},
            query={"state": state},
        )
