"""`python -m bench --smoke --only KEY`: every benchmark end to end at tiny sizes, and
well-formed output (markdown + JSON with machine, versions, date; every figure a positive
number). One test per benchmark key, so the sections run on parallel test workers and a
failure names its section; `test_every_section_has_a_smoke_test` keeps the keys complete."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = {"roundtrip", "sync_point", "seed", "scale", "concurrency", "board", "codex", "stop",
            "startup", "tracing", "web", "distributed"}
# A benchmark key's sections are the key itself, plus these (one module, two sections).
ALSO = {"seed": {"sync_point"}}


def _sections_of(key: str) -> set[str]:
    return {key} | ALSO.get(key, set())


def test_every_section_has_a_smoke_test() -> None:
    # wsanswer: answers over the stream (bench/stream_answers.py).
    assert set().union(*map(_sections_of, BENCHMARKS)) == SECTIONS | {"wsanswer"}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("key", sorted(BENCHMARKS))
def test_smoke_run_writes_well_formed_results(tmp_path: Path, key: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--only", key,
                           "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-4000:]
    document = json.loads((tmp_path / "latest.json").read_text())
    assert document["smoke"] is True
    assert document["date"].endswith("UTC")
    machine = document["machine"]
    assert machine["cpu"] and machine["cores"] >= 1 and machine["memory_gib"] > 0
    versions = document["versions"]
    for name in ("python", "teammesh", "starlette", "uvicorn", "websockets", "httpx"):
        assert versions[name] and versions[name] != "absent", name
    assert {s["key"] for s in document["sections"]} == _sections_of(key)
    for section in document["sections"]:
        assert section["figures"], section["key"]
        for figure in section["figures"]:
            value = figure["value"]
            label = f"{section['key']}: {figure['name']}"
            assert isinstance(value, float) and math.isfinite(value), label
            if figure["name"].startswith("double claims"):
                assert value == 0, label  # the one figure that must be zero
            elif figure["name"].startswith("added"):
                pass  # a difference of two noisy medians: may be ≤ 0 (codex section)
            elif "CPU per turn" in figure["name"]:
                assert value >= 0, label  # CPU times tick in 10 ms: a few turns may read 0
            else:
                assert value > 0, label
            assert figure["runs"] >= 1, label
            assert figure["met"] in (True, False, None), label
    markdown = (tmp_path / "latest.md").read_text()
    assert markdown.startswith("# teammesh benchmarks (smoke sizes)")
    assert "| benchmark | figure | value | target | verdict | runs |" in markdown
    assert markdown.count("\n| ") >= sum(len(s["figures"]) for s in document["sections"])
    # The printed table carries the same figures, under each section's title.
    for section in document["sections"]:
        assert section["title"] in proc.stdout, section["key"]
