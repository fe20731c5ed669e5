"""Work handed off as commits and integrated by review (issue 19, items 2-3): a publish
commits the member's worktree (the member as author) and the artifact names commit, branch
and files; replays and retried attempts commit nothing twice; a pulled task starts from
its commit; the integrator's publish merges it, a conflict is refused with the files and
handed back, then resolved; `merged` and `check` criteria. Real git, real SQLite board."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from teammesh.mesh.board import SYSTEM_MEMBER
from teammesh.mesh.criteria import RunFacts
from teammesh.mesh.integration import check_criterion, merge_reviewed, merged_criterion

from .workspace_repo import sh_git
from .workspace_team import Agent, team_work

ROSTER = ("developer", "docs", "reviewer")


def _count(tree: Path) -> int:
    return int(sh_git(tree, "rev-list", "--count", "HEAD"))


def test_a_publish_commits_the_worktree_and_names_the_commit(tmp_path: Path) -> None:
    board, work, agents = team_work(tmp_path, ROSTER)
    dev = agents["developer"]
    board.queue_work("developer", "write mod", by=SYSTEM_MEMBER, key="initial:0")
    dev.turn()
    assert dev.ok("team_pull_work")["task"] == "write mod"
    dev.write("mod.py", "VALUE = 1\n")
    dev.write("tests/test_mod.py", "from mod import VALUE\n\ndef test_value():\n"
                                   "    assert VALUE == 1\n")
    result = dev.ok("team_publish_artifact", "pub-1", kind="implementation",
                    summary="mod and its test")
    head = sh_git(dev.tree, "rev-parse", "HEAD")
    assert sh_git(dev.tree, "log", "-1", "--format=%an <%ae>|%cn|%s") == (
        "developer <developer@teammesh.invalid>|teammesh runner|implementation: mod and its"
        " test")
    summary = result["artifact"]["summary"]
    assert summary.startswith("mod and its test\n[commit " + head[:12])
    assert "teammesh/run-w/member/developer" in summary and "2 file(s), +5 -0" in summary
    assert board.artifacts()[-1].summary == summary  # `board show` prints it
    record = work.records()[head]
    assert record["files"] == ["mod.py", "tests/test_mod.py"]
    assert record["member"] == "developer" and record["added"] == 5
    # Replayed (the same request id): no second commit, the same answer.
    dev.write("late.txt", "written after the publish\n")
    again = dev.ok("team_publish_artifact", "pub-1", kind="implementation",
                   summary="mod and its test")
    assert again == result and _count(dev.tree) == 2
    assert sh_git(dev.tree, "status", "--porcelain") == "?? late.txt"


def test_a_retried_attempt_does_not_commit_or_publish_twice(tmp_path: Path) -> None:
    board, work, agents = team_work(tmp_path, ROSTER)
    dev = agents["developer"]
    board.queue_work("developer", "write mod", by=SYSTEM_MEMBER, key="initial:0")
    dev.turn()
    dev.ok("team_pull_work")
    dev.write("mod.py", "VALUE = 1\n")
    first = dev.ok("team_publish_artifact", kind="implementation", summary="mod")
    assert dev.slot is not None
    board.settle_turn(dev.slot.token, ok=False, lost=True)  # the turn was lost: claim back
    dev.turn(2)
    assert dev.ok("team_pull_work")["task"] == "write mod"
    retried = dev.ok("team_publish_artifact", kind="implementation", summary="mod")
    assert retried["artifact"] == first["artifact"]
    assert _count(dev.tree) == 2 and len(board.artifacts()) == 1
    assert len(work.records()) == 1


def _unresolved_conflict(tmp_path: Path) -> Agent:
    """The developer's tree mid-merge: `a.txt` conflicted, left unresolved by the member."""
    board, _work, agents = team_work(tmp_path, ("developer", "reviewer"))
    dev = agents["developer"]
    board.queue_work("developer", "t", by=SYSTEM_MEMBER, key="initial:0")
    dev.turn()
    dev.ok("team_pull_work")
    dev.write("a.txt", "one\n")
    sh_git(dev.tree, "add", "a.txt")
    sh_git(dev.tree, "commit", "-qm", "one")
    sh_git(dev.tree, "checkout", "-qb", "side", "HEAD~1")
    dev.write("a.txt", "two\n")
    sh_git(dev.tree, "add", "a.txt")
    sh_git(dev.tree, "commit", "-qm", "two")
    sh_git(dev.tree, "checkout", "-q", "teammesh/run-w/member/developer")
    merging = subprocess.run(["git", "merge", "-q", "side"], cwd=dev.tree,
                             capture_output=True, check=False)
    assert merging.returncode != 0  # a conflict the member left unresolved
    return dev


def test_conflict_markers_are_never_committed(tmp_path: Path) -> None:
    dev = _unresolved_conflict(tmp_path)
    payload = dev.call("team_publish_artifact", kind="fix", summary="fixed")
    assert payload["success"] is False
    assert "conflict markers left in a.txt" in payload["contentItems"][0]["text"]


def test_review_merges_the_handed_off_commit_into_the_integration_branch(
        tmp_path: Path) -> None:
    board, work, agents = team_work(tmp_path, ROSTER)
    dev, docs, rev = agents["developer"], agents["docs"], agents["reviewer"]
    board.queue_work("developer", "write mod", by=SYSTEM_MEMBER, key="initial:0")
    merged, check = merged_criterion(), check_criterion(
        f"{sys.executable} -c 'import mod; assert mod.VALUE == 1'")
    assert merged.missing(board, RunFacts()) == [
        "merged: no work was published as a commit yet"]
    dev.turn()
    dev.ok("team_pull_work")
    dev.write("mod.py", "VALUE = 1\n")
    dev.ok("team_publish_artifact", kind="implementation", summary="mod")
    dev_commit = sh_git(dev.tree, "rev-parse", "HEAD")
    dev.ok("team_queue_work", owner="docs", task="document mod")
    dev.ok("team_queue_work", owner="reviewer", task="review mod")
    # docs starts from the developer's commit and adds a page on top.
    docs.turn()
    pulled = docs.ok("team_pull_work")
    assert pulled["workspace"]["startsFrom"] == dev_commit[:12]
    assert (docs.tree / "mod.py").read_text() == "VALUE = 1\n"
    docs.write("docs/mod.md", "# mod\n\n`VALUE` is 1.\n")
    docs.ok("team_publish_artifact", kind="documentation", summary="page")
    docs_commit = sh_git(docs.tree, "rev-parse", "HEAD")
    assert work.records()[docs_commit]["files"] == ["docs/mod.md"]
    docs.ok("team_queue_work", owner="reviewer", task="review the page")
    assert merged.missing(board, RunFacts())  # nothing merged yet
    # The reviewer reviews the handed-off work as it stands: the developer's commit with
    # the docs commit built on it; its verdict merges both.
    rev.turn()
    assert rev.ok("team_pull_work")["task"] == "review mod"
    (rev.tree / "__pycache__").mkdir()
    (rev.tree / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")  # ran the tests
    assert sh_git(rev.tree, "rev-parse", "HEAD") == docs_commit
    verdict = rev.ok("team_publish_artifact", kind="review", summary="mod is fine")
    assert verdict["merge"]["merged"] is True, verdict
    assert "[commit" not in verdict["artifact"]["summary"]  # nothing of its own
    integration = work.layout.integration_dir
    assert (integration / "mod.py").exists() and (integration / "docs" / "mod.md").exists()
    assert merged.missing(board, RunFacts()) == []
    assert check.missing(board, RunFacts()) == []
    assert sh_git(integration, "log", "-1", "--format=%s") == (
        f"merge docs's {docs_commit[:12]} (reviewed by reviewer)")
    rev.turn(2)
    assert rev.ok("team_pull_work")["task"] == "review the page"
    again = rev.ok("team_publish_artifact", kind="review", summary="page is fine")
    assert again["merge"] == {"commit": docs_commit[:12], "merged": True, "already": True}
    failing = check_criterion(f"{sys.executable} -c 'raise SystemExit(3)'")
    assert failing.missing(board, RunFacts())[0].startswith(
        "check ") and "(exit 3)" in failing.missing(board, RunFacts())[0]


def test_a_conflict_is_refused_handed_back_and_then_resolved(tmp_path: Path) -> None:
    roster = ("alice", "bob", "reviewer")
    board, work, agents = team_work(tmp_path, roster)
    alice, bob, rev = agents["alice"], agents["bob"], agents["reviewer"]
    for n, who in enumerate(("alice", "bob")):
        board.queue_work(who, "edit README", by=SYSTEM_MEMBER, key=f"initial:{n}")
    for agent, line in ((alice, "alice was here\n"), (bob, "bob was here\n")):
        agent.turn()
        agent.ok("team_pull_work")
        agent.write("README.md", "# project\n" + line)
        agent.ok("team_publish_artifact", kind="implementation", summary=line.strip())
        agent.ok("team_queue_work", owner="reviewer", task=f"review {agent.name}")
    bob_commit = sh_git(bob.tree, "rev-parse", "HEAD")
    rev.turn()
    rev.ok("team_pull_work")
    assert rev.ok("team_publish_artifact", kind="review", summary="ok")["merge"]["merged"]
    rev.turn(2)
    assert rev.ok("team_pull_work")["task"] == "review bob"
    refused = rev.ok("team_publish_artifact", kind="review", summary="ok too")
    assert refused["merge"] == {"commit": bob_commit[:12], "merged": False,
                                "conflicts": ["README.md"], "handedBackTo": "bob"}
    [note] = [a for a in board.artifacts() if a.kind == "merge_refused"]
    assert note.member == "reviewer" and "conflicts in README.md" in note.summary
    integration = work.layout.integration_dir
    assert sh_git(integration, "status", "--porcelain") == ""  # the merge was aborted
    assert "alice" in (integration / "README.md").read_text()
    # Tried again, the refusal is neither recorded nor handed back twice.
    assert rev.slot is not None
    assert merge_reviewed(work, "reviewer", rev.slot.token) == refused["merge"]
    assert len([a for a in board.artifacts() if a.kind == "merge_refused"]) == 1
    assert len(work.handbacks()) == 1 and len([t for t in board.tasks()
                                               if t.owner == "bob"]) == 2
    # bob starts from the integration branch: the conflict is in his own worktree.
    bob.turn(2)
    pulled = bob.ok("team_pull_work")
    assert pulled["workspace"]["conflicts"] == ["README.md"], pulled
    assert "<<<<<<<" in (bob.tree / "README.md").read_text()
    bob.write("README.md", "# project\nalice was here\nbob was here\n")
    bob.ok("team_publish_artifact", kind="implementation", summary="resolved")
    bob.ok("team_queue_work", owner="reviewer", task="review bob again")
    rev.turn(3)
    assert rev.ok("team_pull_work")["task"] == "review bob again"
    verdict = rev.ok("team_publish_artifact", kind="review", summary="resolved fine")
    assert verdict["merge"]["merged"] is True, verdict
    assert (integration / "README.md").read_text() == (
        "# project\nalice was here\nbob was here\n")
    assert merged_criterion().missing(board, RunFacts()) == []
    graph = sh_git(work.layout.repo, "log", "--format=%an: %s", "teammesh/run-w/integration")
    assert "bob: implementation: resolved" in graph


def test_a_worktree_pointed_at_another_git_dir_is_refused(tmp_path: Path) -> None:
    board, work, agents = team_work(tmp_path, ("alice", "bob", "reviewer"))
    alice, bob = agents["alice"], agents["bob"]
    board.queue_work("bob", "t", by=SYSTEM_MEMBER, key="initial:0")
    bob.turn()
    bob.ok("team_pull_work")
    # bob's agent rewrites its .git to alice's git dir: its work would land on her branch.
    bob.write(".git", (alice.tree / ".git").read_text())
    bob.write("evil.txt", "bob's\n")
    payload = bob.call("team_publish_artifact", kind="x", summary="y")
    assert payload["success"] is False
    assert "not on its own branch" in payload["contentItems"][0]["text"]
    assert sh_git(alice.tree, "log", "--format=%an") == "teammesh runner"  # untouched
    # A fake git dir inside the tree (whose config could name a filter) is refused too.
    fake = bob.tree / "fake"
    sh_git(tmp_path, "init", "-q", str(fake))
    bob.write(".git", f"gitdir: {fake / '.git'}\n")
    payload = bob.call("team_publish_artifact", kind="x", summary="z")
    assert "a git dir the runner did not make" in payload["contentItems"][0]["text"]
    assert len(board.artifacts()) == 0 and work.records() == {}


def test_a_fifo_in_place_of_a_conflicted_file_does_not_hang_the_publish(
        tmp_path: Path) -> None:
    dev = _unresolved_conflict(tmp_path)
    (dev.tree / "a.txt").unlink()
    os.mkfifo(dev.tree / "a.txt")
    payload = dev.call("team_publish_artifact", kind="fix", summary="fixed")
    # No hang reading the FIFO; git refuses to add it, and the artifact says so.
    assert payload["success"] is True, payload
    assert "[work not committed: git add --all failed" in payload["contentItems"][0]["text"]
