"""Write the README's configuration table from the settings (sync/settings.py, read through sync/config.py).

    python tools/config_reference.py          # rewrite the table in README.md
    python tools/config_reference.py --check  # exit 1 if README.md is out of date (the tests do this)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.config import documented_keys  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- configuration:start -->", "<!-- configuration:end -->"


def table() -> str:
    rows = ["| key | default | what it is |", "| --- | --- | --- |"]
    for key, default, doc in documented_keys():
        shown = "(empty)" if default in ("", [], {}) else json.dumps(default)
        rows.append(f"| `{key}` | `{shown}` | {doc} |")
    return "\n".join(rows)


def rendered(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    current = README.read_text(encoding="utf-8")
    wanted = rendered(current)
    if "--check" in sys.argv:
        sys.exit(0 if wanted == current else 1)
    README.write_text(wanted, encoding="utf-8")
