"""Labelled SMS messages kept as files: the held-out set (heldout.tsv, written before the recogniser
was tuned for issue 17 and never read while tuning) and the tuning set (tuning.tsv, the examples it
was tuned on). Each line: language, service code or "none", message (tab-separated; # comments)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def read(name: str) -> list[tuple[str, str, str]]:
    """(language, service, message) of every line of a corpus file."""
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            language, service, message = line.split("\t")
            rows.append((language, service, message))
    return rows


def scores(recogniser, rows: list[tuple[str, str, str]]) -> tuple[float, dict[str, float], list[tuple]]:
    """(overall, per language, misses): services right when each resident chose their own language."""
    right: dict[str, list[bool]] = {}
    misses = []
    for language, service, message in rows:
        found = recogniser.recognise(message, language).service or "none"
        right.setdefault(language, []).append(found == service)
        if found != service:
            misses.append((language, message, service, found))
    every = [ok for oks in right.values() for ok in oks]
    return sum(every) / len(every), {code: sum(oks) / len(oks) for code, oks in right.items()}, misses
