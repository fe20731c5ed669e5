"""Which codex thread stands for which gateway thread, kept on disk.

The two ids differ only for a thread that was re-created after a restart (it had never run
a turn, so codex had no rollout to resume it from). The map outlives the gateway process, so
a second restart resumes the re-created thread instead of re-creating it again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from teammesh.private_files import private_dir, write_private_text

log = logging.getLogger(__name__)


class ThreadIdMap:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._codex_of: dict[str, str] = {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            log.warning("ignoring unreadable codex thread map %s", path)
            return
        if isinstance(raw, dict):
            self._codex_of = {k: v for k, v in raw.items() if isinstance(v, str)}

    def codex_id(self, public_id: str) -> str:
        return self._codex_of.get(public_id, public_id)

    def public_ids(self) -> dict[str, str]:
        """codex id → public id, for every re-created thread."""
        return {codex: public for public, codex in self._codex_of.items()}

    def set(self, public_id: str, codex_id: str) -> None:
        self._codex_of[public_id] = codex_id
        private_dir(self._path.parent)
        write_private_text(self._path, json.dumps(self._codex_of, indent=1, sort_keys=True))
