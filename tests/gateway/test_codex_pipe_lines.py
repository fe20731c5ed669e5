"""codex_pipes: the app-server child's stdout/stderr split into lines in the pipe callback.
Real pipes and a real child process (a Python script standing in for codex), plus the
splitter on chunk boundaries the kernel may produce."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from teammesh.gateway.runtimes.codex_pipes import LineSplitter, spawn_line_process

pytestmark = pytest.mark.anyio

# Writes lines in pieces (a message split across writes), a line and a half in one write,
# stderr lines, and a last stdout line without a newline.
CHILD = r"""
import sys, time
out, err = sys.stdout.buffer, sys.stderr.buffer
def put(stream, data):
    stream.write(data); stream.flush(); time.sleep(0.01)
put(out, b'{"a":')
put(out, b'1}\n{"b":2}\n{"c"')
put(err, b"warn one\nwarn ")
put(out, b':3}\n')
put(err, b"two\n")
put(out, b"\n" + "é".encode() * 3 + b"\n" + b"tail")
"""


def _lines(chunks: list[bytes], limit: int = 100) -> list[bytes]:
    seen: list[bytes] = []
    splitter = LineSplitter(seen.append, limit, "test")
    for chunk in chunks:
        splitter.feed(chunk)
    splitter.finish()
    return seen


def test_lines_across_chunks() -> None:
    assert _lines([b"ab", b"c\nde", b"f\n\n", b"g"]) == [b"abc", b"def", b"g"]
    assert _lines([b"one\ntwo\nthree\n"]) == [b"one", b"two", b"three"]
    assert _lines([b"x", b"y", b"z"]) == [b"xyz"]


def test_a_line_over_the_limit_is_dropped_whole() -> None:
    long = b"L" * 60
    assert _lines([b"ok\n" + long, long, b"still the long one\nnext\n"], limit=100) == [
        b"ok", b"next"]
    assert _lines([long, long, long], limit=100) == []  # never ended: dropped at the end too


def test_a_failing_handler_does_not_stop_the_lines() -> None:
    seen: list[bytes] = []

    def handler(line: bytes) -> None:
        if line == b"bad":
            raise RuntimeError("handler bug")
        seen.append(line)

    splitter = LineSplitter(handler, 100, "test")
    splitter.feed(b"one\nbad\ntwo\n")
    assert seen == [b"one", b"two"]


async def test_a_real_child(tmp_path: Path) -> None:
    out: list[bytes] = []
    err: list[bytes] = []
    flushes = 0

    def flushed() -> None:
        nonlocal flushes
        flushes += 1

    child = await spawn_line_process(
        [sys.executable, "-c", CHILD], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path,
        limit=1024, on_stdout=out.append, on_stderr=err.append, after_stderr=flushed)
    await asyncio.wait_for(asyncio.gather(child.stdout_closed, child.stderr_closed,
                                          child.process.wait()), 30)
    assert out == [b'{"a":1}', b'{"b":2}', b'{"c":3}', "é".encode() * 3, b"tail"]
    assert err == [b"warn one", b"warn two"]
    assert flushes >= 2
    assert child.process.returncode == 0
    child.close_pipes()  # idempotent after the end


async def test_no_descriptor_is_left_open(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        child = await spawn_line_process(
            [sys.executable, "-c", "print('x')"], env={"PATH": "/usr/bin:/bin"},
            cwd=tmp_path, limit=1024, on_stdout=lambda line: None,
            on_stderr=lambda line: None, after_stderr=lambda: None)
        await asyncio.wait_for(asyncio.gather(child.stdout_closed, child.stderr_closed,
                                              child.process.wait()), 30)
        assert child.process.stdin is not None
        child.process.stdin.close()
        await asyncio.sleep(0)
    assert len(os.listdir("/proc/self/fd")) <= before + 1
