"""A browser test without its browser or axe-core: skipped on a developer's machine, failed in CI
(CI=true), where a skip would pass a check that never ran."""

from __future__ import annotations

import pytest

from tests import browser


@pytest.mark.parametrize("need, name", [(browser.need_chromium, "CHROMIUM"), (browser.need_axe, "AXE")])
def test_a_missing_browser_or_axe_fails_in_ci_and_is_skipped_elsewhere(monkeypatch, tmp_path, need, name):
    monkeypatch.setattr(browser, name, tmp_path / "nowhere" if name == "AXE" else str(tmp_path / "nowhere"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="nowhere is missing: `make test` installs it"):
        need()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="nowhere is missing"):
        need()
