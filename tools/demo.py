"""`make demo`: assist on embedded defaults, as a library kiosk would run it with no network.

It loads the demo council's gazetteer, takes two residents through the shared question flow (one
in English, one in Welsh) exactly as the channels will, saves their requests to the outbox with a
reference each, types up a few paper forms (one of them wrong, to show the error a member of
staff would see), and shows the outbox. Everything lands in ./demo-data; run it again freely.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def assist(*args: str, env: dict[str, str]) -> None:
    print(f"\n$ assist {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "assist", *args], env=env, check=False)


def resident(store, language: str, service_code: str, place_query: str, typed: dict[str, str]) -> None:
    import locales
    from sync import flow, gazetteer

    t = locales.translator(language)
    catalogue = store.catalogue()
    service = catalogue.get(service_code)
    print(f"\n=== {locales.native_name(language)}: {t(service.name)} ===")
    if service.urgent_notice:
        print("!", t(service.urgent_notice).format(phone="01632 960000"))
    answers: dict = {}
    while (question := flow.next_question(service, answers)) is not None:
        print(f"? {t(question.prompt)}")
        for number, choice in enumerate(question.choices, 1):
            print(f"    {number}. {t(choice.label)}")
        if question.key == "location":
            places = gazetteer.search(store.db, place_query, limit=3)
            print(f"  [searching the gazetteer for {place_query!r}: {len(places)} found]")
            raw = places[0] if places else place_query
        else:
            raw = typed.get(question.key, "")
        try:
            answers[question.key] = flow.validate(question, raw, translate=t.gettext)
        except flow.Invalid as invalid:
            print(f"  ! {invalid.render(t)}")
            answers[question.key] = flow.validate(question, typed[question.key + "!retry"], translate=t.gettext)
        print(f"  > {flow.display(question, answers[question.key], t)}")
    draft = flow.to_draft(service, answers, channel="kiosk", language=language,
                          catalogue_version=catalogue.version)
    saved = store.enqueue(draft)
    print(f"\n  saved to the outbox: reference {saved.display_reference}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default="demo-data")
    args = parser.parse_args()
    folder = (ROOT / args.dir).resolve()
    folder.mkdir(exist_ok=True)
    env = {**os.environ, "ASSIST_STORE__PATH": str(folder / "assist.db"), "ASSIST_KIOSK__DEVICE_ID": "demo-kiosk-1",
           "ASSIST_KIOSK__LIBRARY_NAME": "Brackenford Central Library"}
    os.environ.update(env)

    from sync.config import load_settings
    from sync.store import Store

    assist("gazetteer", "import", "--demo", env=env)
    assist("gazetteer", "search", "12 hihg st", env=env)
    store = Store.open(load_settings())
    resident(store, "en", "missed_bin", "12 High Street", {
        "attribute.bin_type": "recycling bin", "attribute.collection_date": "yesterday",
        "description": "Left at the kerb as usual", "name": "Sam Okafor", "phone": "0791l 123456",
        "phone!retry": "07911 123456", "email": "", "updates_by_text": "yes", "consent": "yes"})
    resident(store, "cy", "pothole", "BF1", {
        "attribute.size": "3", "attribute.surface": "1", "description": "Twll dwfn ger yr arhosfan bws",
        "name": "", "phone": "", "email": ""})
    store.close()
    assist("outbox", "import", str(ROOT / "docs" / "examples" / "paper-forms.jsonl"), env=env)
    assist("outbox", "status", env=env)
    assist("outbox", "list", env=env)
    print(f"\nThe demo store is {folder / 'assist.db'}; try `ASSIST_STORE__PATH={folder / 'assist.db'} "
          ".venv/bin/assist outbox list`.")


if __name__ == "__main__":
    main()
