"""Atomic writes leave nothing behind, even after a SIGKILL: later writes remove stale temporary files."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lrmakeup.errors import InputError
from lrmakeup.fileio import TEMP_PREFIX, atomic_write, check_writable, remove_stale_temps


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_writers_temp_file_is_removed_by_a_later_write(tmp_path):
    code = ("import sys, time; from lrmakeup.fileio import atomic_write\n"
            "def slow(tmp):\n    open(tmp, 'wb').write(b'partial'); print('writing', flush=True); time.sleep(60)\n"
            f"atomic_write({str(tmp_path / 'a.bin')!r}, slow)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()  # SIGKILL: no clean-up runs
    proc.wait()
    left = [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert len(left) == 1 and not (tmp_path / "a.bin").exists()
    old = time.time() - 3600
    os.utime(left[0], (old, old))
    atomic_write(tmp_path / "b.bin", lambda tmp: open(tmp, "wb").write(b"whole"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin"]


def test_temp_files_of_running_writers_and_fresh_ones_are_kept(tmp_path):
    live = tmp_path / f"{TEMP_PREFIX}{os.getppid()}-abc"  # a running process (our parent)
    fresh = tmp_path / f"{TEMP_PREFIX}{_dead_pid()}-def"  # dead, but written a moment ago (maybe another host)
    other = tmp_path / ".somebody-elses.tmp"
    for path in (live, fresh, other):
        path.write_bytes(b"x")
    old = time.time() - 3600
    os.utime(live, (old, old))
    os.utime(other, (old, old))
    assert remove_stale_temps(tmp_path) == 0
    assert live.exists() and fresh.exists() and other.exists()


@pytest.mark.parametrize("path", ["/proc/x.png", "/nonexistent-folder/x.png"])
def test_check_writable_refuses_unwritable_places(path):
    with pytest.raises(InputError):
        check_writable(path)


def test_check_writable_refuses_names_over_255_bytes(tmp_path):
    with pytest.raises(InputError, match="longer than"):
        check_writable(tmp_path / ("é" * 130 + ".png"))
    assert list(tmp_path.iterdir()) == []
