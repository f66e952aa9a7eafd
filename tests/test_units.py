"""The systemd units in deploy/: hardened to the scores deploy/README.md promises, valid to
systemd, and agreed on where secrets come from. The scoring and verifying need `systemd-analyze`
and are skipped where it is not installed; the credential checks always run."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
#: The highest `systemd-analyze security --offline=true` exposure each unit may have.
MAX_EXPOSURE = {"assist-sync": 2.0, "assist-sms": 2.0, "assist-sms@": 2.0, "assist-council": 2.0, "assist-fleet": 2.0,
                "assist-kiosk": 1.6}
#: A template is verified as one of its instances (the SMS service's instance name is its port).
INSTANCE = {"assist-sms@": "assist-sms@8101"}
CREDENTIALS = {"store_key", "store_url", "backoffice_api_key", "twilio_auth_token", "notify_api_key",
               "fleet_metrics_token"}
ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def unit(name: str) -> str:
    return (DEPLOY / f"{name}.service").read_text(encoding="utf-8")


def test_every_unit_is_scored_here():
    assert {path.stem for path in DEPLOY.glob("*.service")} == set(MAX_EXPOSURE)


@pytest.mark.parametrize("name", sorted(MAX_EXPOSURE))
def test_secrets_come_only_as_systemd_credentials_from_one_folder(name):
    text = unit(name)
    assert "EnvironmentFile" not in text, "secrets are credentials, not an environment file"
    loaded = re.findall(r"^LoadCredential=(\w+):(\S+)$", text, re.MULTILINE)
    assert loaded, "each unit takes at least one secret"
    for credential, source in loaded:
        assert credential in CREDENTIALS and source == f"/etc/assist/credentials/{credential}"
    assert "--api-key " not in text, "no secret on a command line"


@needs_systemd
@pytest.mark.parametrize("name", sorted(MAX_EXPOSURE))
def test_each_unit_is_hardened_to_its_promised_exposure(name):
    done = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", str(DEPLOY / f"{name}.service")],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE[name], done.stdout


def stub_root(root: Path) -> Path:
    """A root with the binaries the units start (as stubs), the host's own system units (the
    targets they are ordered against) and ours."""
    for binary in ("opt/assist/bin/assist", "usr/bin/cage", "usr/bin/foot"):
        path = root / binary
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    host_units = next((path for path in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
                       if (path / "sysinit.target").exists()), None)
    if host_units is None:
        pytest.skip("this machine has systemd-analyze but not systemd's own units")
    shutil.copytree(host_units, root / "usr/lib/systemd/system", symlinks=True)
    ours = root / "etc/systemd/system"
    ours.mkdir(parents=True)
    for path in DEPLOY.glob("*.service"):
        shutil.copy(path, ours / path.name)
    return root


@needs_systemd
def test_systemd_accepts_every_unit_and_finds_what_it_starts(tmp_path):
    root = stub_root(tmp_path / "root")
    verify = [ANALYZE, "verify", f"--root={root}",
              *(f"{INSTANCE.get(name, name)}.service" for name in sorted(MAX_EXPOSURE))]
    done = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    (root / "usr/bin/cage").unlink()  # and it would notice the kiosk's compositor missing
    missing = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "/usr/bin/cage" in missing.stderr
