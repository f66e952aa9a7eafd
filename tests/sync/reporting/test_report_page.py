"""The take-up report read as a council officer reads it (issue 17): counts said with the right
plural, whole numbers on count axes, each count saying what it counts, durations written alike in
the table, on the chart and in its words, and a page that fits a 1,280 px screen."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from sync.store import events
from tests.sync.reporting.test_report import (
    Page,
    build_store,
    report_of,
)

COUNT_CHARTS = ("sessions_per_day", "outcomes", "gave_up", "assisted", "channels", "languages")


def chart_texts(page: str, key: str) -> list[str]:
    svg = re.search(rf'<svg id="chart-{key}".*?</svg>', page, re.S)
    assert svg, key
    return [html.strip() for html in re.findall(r"<text[^>]*>([^<]*)</text>", svg.group(0))]


def test_a_count_of_one_is_said_in_the_singular(run, tmp_path, stores):
    result, _, page = report_of(run, tmp_path, stores[:1])
    parsed = Page.parse(page)
    assert "7 sessions from 1 store." in result.output
    assert "Polish (pl): 1 session, 1 submitted" in parsed.text_of("chart-languages-caption")
    assert "1 sessions" not in page and "1 store." in page and "store(s)" not in result.output


def test_count_axes_have_whole_numbers_and_a_tick_a_day(run, tmp_path, stores):
    _, _, page = report_of(run, tmp_path, stores)
    for key in COUNT_CHARTS:
        texts = chart_texts(page, key)
        assert not [text for text in texts if re.fullmatch(r"[\d,]*\.\d+", text)], (key, texts)
    assert "12:00" not in chart_texts(page, "sessions_per_day")


def test_submitted_and_submissions_each_say_what_they_count(run, tmp_path, stores):
    _, figures, page = report_of(run, tmp_path, stores)
    parsed = Page.parse(page)
    assert figures[("summary", "all", "submitted")] == "6"
    assert figures[("time_to_acceptance", "all", "submissions")] == "5"
    assert ("Sessions ending in a submission", "6") in parsed.definitions
    assert parsed.table_after("Time to acceptance by the council")[0][:2] == ["Channel", "Submissions saved"]
    about = " ".join(page.split("About these figures")[-1].split())
    assert "Sessions ending in a submission, and submissions saved" in about and "the two can differ" in about


def test_durations_read_the_same_in_the_table_on_the_chart_and_in_words(run, tmp_path):
    quick = [("2026-11-02T10:00:00", "en", [(0.1, events.SERVICE, "pothole"), (0.4, events.SUBMITTED, None)])]
    quicker = [("2026-11-02T11:00:00", "en", [(0.1, events.SERVICE, "pothole"), (0.6, events.SUBMITTED, None)])]
    kiosk = build_store(tmp_path / "kiosk.db", "kiosk-1", "kiosk", quick, [])
    sms = build_store(tmp_path / "sms.db", "sms", "sms", quicker, [])
    _, figures, page = report_of(run, tmp_path, [kiosk, sms], since="2026-11-02", until="2026-11-02")
    parsed = Page.parse(page)
    table = parsed.table_after("Time to complete")
    assert [row[2] for row in table[1:]] == ["0.5 s", "0.4 s", "0.6 s"]  # all channels, the kiosk, SMS
    assert {"0.4 s", "0.5 s", "0.6 s"} <= set(chart_texts(page, "time_to_complete"))
    assert "Library kiosk: median 0.4 s" in parsed.text_of("chart-time_to_complete-caption")
    assert [figures[("time_to_complete", group, "median_seconds")] for group in ("kiosk", "sms")] == ["0", "1"]


MEASURE = """<script>
addEventListener('load', () => {
  const edge = document.querySelector('main').getBoundingClientRect().right;
  const wide = [...document.querySelectorAll('main *')]
    .filter(e => e.getBoundingClientRect().right > edge + 0.5)
    .map(e => e.tagName + ' in ' + (e.closest('section') || {}).id);
  const out = document.createElement('pre');
  out.id = 'measured';
  out.textContent = JSON.stringify({page: document.documentElement.scrollWidth,
                                    window: document.documentElement.clientWidth, wide});
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_page_fits_a_1280_px_screen_in_a_real_browser(run, tmp_path, stores):
    _, _, page = report_of(run, tmp_path, stores)
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", measured.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    found = json.loads(re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S).group(1).replace("&gt;", ">"))
    assert found["page"] <= found["window"], found
    assert found["wide"] == [], "wider than the page's column at 1,280 px: " + ", ".join(found["wide"])
