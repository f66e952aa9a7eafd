"""An installed wheel must work on a kiosk with no source tree: every module, catalogue and
translation has to be inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assist", "kiosk", "sms", "sync", "council", "fleet", "locales")


@pytest.mark.slow  # builds the wheel with pip
def test_the_wheel_carries_every_module_catalogue_and_compiled_translation(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    [wheel] = tmp_path.glob("assist_council_kiosk-*.whl")  # `assist` on PyPI is another project
    names = set(zipfile.ZipFile(wheel).namelist())
    metadata = zipfile.ZipFile(wheel).read(next(name for name in names if name.endswith(".dist-info/METADATA")))
    assert b"\nLicense-Expression: MIT\n" in metadata and any(name.endswith("licenses/LICENSE") for name in names)
    sources = {str(path.relative_to(ROOT)) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
               if "__pycache__" not in path.parts}
    assert sources and sources <= names, sorted(sources - names)
    for po in (ROOT / "locales").glob("*/LC_MESSAGES/messages.po"):
        relative = po.relative_to(ROOT)
        assert str(relative.with_suffix(".mo")) in names and f"locales/{relative.parts[1]}/manifest.toml" in names
    assert {"sync/data/catalogue.toml", "sync/data/demo_gazetteer.csv", "sync/data/report.html.j2",
            "kiosk/kiosk.tcss"} <= names
    requires = [line.removeprefix("Requires-Dist: ") for line in metadata.decode().splitlines()
                if line.startswith("Requires-Dist: ")]
    [matplotlib] = [line for line in requires if line.startswith("matplotlib")]  # the report's alone
    assert matplotlib.endswith('extra == "report"'), matplotlib
    jinja2 = [line for line in requires if line.startswith("jinja2")]  # the report's and the fleet page's
    assert sorted(line.rpartition("extra == ")[2] for line in jinja2) == ['"fleet"', '"report"'], jinja2
    assert any(line.startswith("textual") and "extra ==" not in line for line in requires)
    # The printed reference: its font and the font's licence travel with it; python-escpos is the [printer] extra's.
    assert {"sync/printing/fonts/NotoSlip-Regular.ttf", "sync/printing/fonts/OFL.txt"} <= names
    [escpos] = [line for line in requires if line.startswith("python-escpos")]
    assert escpos.endswith('extra == "printer"'), escpos
    [metrics] = [line for line in requires if line.startswith("prometheus")]  # the fleet service's alone
    assert metrics.endswith('extra == "fleet"'), metrics
    assert {"fleet/templates/base.html.j2", "fleet/templates/fleet.html.j2"} <= names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "assist = assist.cli:main" in text and "assist_catalogue = sync.catalogue_extract:extract" in text
