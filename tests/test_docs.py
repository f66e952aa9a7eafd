"""The outbox's documentation says what the code does: every transition the store allows is in
docs/sync.md's table, and the table names none the store refuses."""

from __future__ import annotations

import re
from pathlib import Path

from sync.store import STATES, TRANSITIONS

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (\w+) \| (\w+) \| .+ \|$")


def documented_transitions() -> set[tuple[str, str]]:
    text = (ROOT / "docs" / "sync.md").read_text(encoding="utf-8")
    section = text.split("## The states and every way between them", 1)[1].split("\n## ", 1)[0]
    return {(match[1], match[2]) for line in section.splitlines() if (match := ROW.match(line))
            and match[1] in STATES}


def test_every_transition_in_the_code_is_in_the_docs_and_no_other():
    in_code = {(start, end) for start, ends in TRANSITIONS.items() for end in ends}
    assert documented_transitions() == in_code


def test_the_readme_diagram_shows_every_state_and_no_promise_of_retrying_for_ever():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    diagram = readme.split("### The outbox", 1)[1].split("```", 2)[1]
    assert all(state in diagram for state in STATES)
    assert "never given up" not in readme and "never give up" not in (ROOT / "docs" / "sync.md").read_text()


def test_every_module_the_readme_says_where_to_find_is_there():
    """The README's "Where things live" table is how a newcomer finds a feature: each path it
    names exists (a bare module name means the last directory named before it in that cell)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Where things live", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    missing = []
    for line in table.splitlines()[2:]:
        if not line.startswith("| "):
            continue
        where = line.rstrip(" |").rsplit(" | ", 1)[1]
        folder = ""
        for path in re.findall(r"`([\w./<>-]+)`", where):
            if "<" in path:
                continue
            if "/" in path:
                folder = path.rsplit("/", 1)[0] if "." in path.rsplit("/", 1)[1] else path.rstrip("/")
                candidate = ROOT / path
            elif path.endswith((".py", ".toml", ".tcss")):
                candidate = ROOT / folder / path
            else:
                continue  # a command's name, not a file
            if not candidate.exists():
                missing.append(str(candidate.relative_to(ROOT)))
    assert not missing
