"""The README's runbook, run as written: install a key, back up, lose the machine, restore,
rotate the key. Its `<!-- runbook: NAME -->` shell blocks run in a temporary folder with the
deploy paths moved there, `sudo` dropped and `systemctl` a no-op; nothing else is changed."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sync.config import load_settings
from sync.crypto import KeyProblem
from sync.store import Store
from tests.helpers import EMAIL, draft

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Runbook"


def _runbook() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start)
    return text[start:end]


def _blocks() -> dict[str, str]:
    found = re.findall(r"<!-- runbook: (\w+) -->\n```sh\n(.*?)```", _runbook(), flags=re.S)
    return {name: body for name, body in found}


@pytest.fixture
def machine(tmp_path):
    """The deploy paths, moved into tmp_path, and a way to run a runbook block there."""
    moves = {"/var/lib/assist": tmp_path / "var", "/etc/assist": tmp_path / "etc",
             "/media/backup": tmp_path / "backup", "/media/keys": tmp_path / "keys"}
    for folder in moves.values():
        folder.mkdir()

    def moved(text: str) -> str:
        for real, here in moves.items():
            text = text.replace(real, str(here))
        return text

    toml = re.search(r"```toml\n(.*?)```", _runbook(), flags=re.S).group(1)
    config = tmp_path / "etc" / "assist.toml"
    config.write_text(moved(toml))
    env = {**os.environ, "ASSIST_CONFIG": str(config), "ASSIST_KIOSK__DEVICE_ID": "kiosk-runbook",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CREDENTIALS_DIRECTORY", None)

    def run(name: str) -> subprocess.CompletedProcess:
        script = moved(_blocks()[name]).replace("sudo ", "").replace(" -o assist -g assist", "")
        script = re.sub(r"^systemctl ", "true ", script, flags=re.M)
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True,
                              text=True, timeout=60)

    run.path = lambda real: Path(moved(real))
    run.settings = lambda **extra: load_settings(config, environ={k: v for k, v in {**env, **extra}.items()
                                                                   if k.startswith("ASSIST_")})
    return run


def test_the_runbook_has_its_blocks():
    assert set(_blocks()) == {"install", "backup", "restore", "rotate"}
    assert "--new-key-file" in _blocks()["rotate"] and "store backup" in _blocks()["backup"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("openssl") is None, reason="the install block makes the key with openssl")
def test_install_backup_restore_and_rotate_as_the_runbook_says(machine):
    done = machine("install")
    assert done.returncode == 0, done.stderr
    key_file = machine.path("/etc/assist/credentials/store_key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    store = Store.open(machine.settings())  # the services at work
    references = [store.enqueue(draft(idempotency_key=f"r{n}")).reference for n in range(3)]
    before = {reference: store.personal(reference) for reference in references}
    store.close()

    done = machine("backup")
    assert done.returncode == 0, done.stderr + done.stdout
    copies = list(machine.path("/media/backup").glob("assist-*.db"))
    assert len(copies) == 1 and stat.S_IMODE(copies[0].stat().st_mode) == 0o600

    shutil.rmtree(machine.path("/var/lib/assist"))  # the machine is lost
    shutil.rmtree(machine.path("/etc/assist/credentials"))
    machine.path("/var/lib/assist").mkdir()
    done = machine("restore")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "PROBLEM" not in done.stdout and "ok  key:" in done.stdout
    store = Store.open(machine.settings())
    assert {reference: store.personal(reference) for reference in references} == before
    store.close()

    old_key = key_file.read_bytes()
    done = machine("rotate")
    assert done.returncode == 0, done.stderr + done.stdout
    assert key_file.read_bytes() != old_key
    assert machine.path("/media/keys/assist-store-key").read_bytes() == key_file.read_bytes()
    store = Store.open(machine.settings())
    assert store.personal(references[0])["contact"]["email"] == EMAIL
    store.close()
    kept_old = next(machine.path("/media/keys").glob("assist-store-key-until-*"))
    with pytest.raises(KeyProblem, match="used before its key was rotated"):
        Store.open(machine.settings(ASSIST_STORE__KEY_FILE=str(kept_old)))

    # The backup taken before the rotation, restored with today's key: refused, not re-keyed.
    done = machine("restore")
    assert done.returncode != 0
    assert "PROBLEM  key:" in done.stdout and "does not hold the key" in done.stdout
