"""The installed wheel carries its migrations and model, and upgrades a database by itself."""

import subprocess
import sys
import zipfile
from pathlib import Path

from stancetrack import store
from tests.conftest import REPO


def test_wheel_ships_migrations_and_model_and_upgrades_a_database(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("stancetrack-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "stancetrack/_migrations/versions/0001_initial_schema.py" in names
    assert "stancetrack/model/adapter.safetensors" in names
    assert "stancetrack/model-fast/adapter.safetensors" in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # PYTHONPATH puts the unpacked wheel ahead of the editable checkout.
    code = (
        "import stancetrack.store as s, sys\n"
        "assert '_migrations' in str(s.migrations_dir()), s.migrations_dir()\n"
        "e = s.open_engine(sys.argv[1])\nprint(s.current_revision(e))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "w.db")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == store.head_revision()
