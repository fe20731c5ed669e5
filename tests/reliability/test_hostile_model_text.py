"""A model's text is data: escape sequences and bidi overrides in a reply never reach the
operator's terminal raw (`teammesh run` prints `[round N] member: <first line>`), and
`teammesh runs transcript` shows them escaped too.

Real parts: `teammesh run` as a subprocess on the llm runtime, against a loopback model
endpoint of the test's own whose replies carry the hostile text (tests/reliability/
hostile_model.py), on a real SQLite board.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.reliability.hostile_model import FORBIDDEN, hostile_model

pytestmark = pytest.mark.anyio
TEAMMESH = str(Path(sys.executable).with_name("teammesh"))
TEAM = ('[team]\nname = "solo"\n\n[[members]]\nname = "developer"\n\n'
        '[[tasks]]\nowner = "developer"\ntext = "Plan a small change."\n')


async def _teammesh(cwd: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    proc = await asyncio.create_subprocess_exec(
        TEAMMESH, *args, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 100)
    return proc.returncode or 0, out.decode(), err.decode()


def _assert_inert(text: str) -> None:
    found = [hex(ord(c)) for c in FORBIDDEN if c in text]
    assert not found, (found, text)


async def test_a_reply_s_escape_sequences_reach_no_terminal(tmp_path: Path) -> None:
    (tmp_path / "solo.toml").write_text(TEAM)
    board = tmp_path / "board.sqlite"
    async with hostile_model() as base_url:
        code, out, err = await _teammesh(
            tmp_path, "run", "solo.toml", "--runtime", "llm", "--model-base-url", base_url,
            "--live", "off", "--board", str(board))
    assert code == 0, (out, err)
    reply = next(line for line in out.splitlines() if line.startswith("[round 1] developer:"))
    assert "owned" in reply and "\\u001b" in reply  # shown, escaped, on its one line
    _assert_inert(out)
    _assert_inert(err)
    run_id = next(word for word in err.split() if word.startswith("run-"))
    code, out, err = await _teammesh(tmp_path, "runs", "transcript", run_id.strip(":,."),
                                     "developer", "--board", str(board))
    assert code == 0, (out, err)
    assert "owned" in out
    _assert_inert(out)
