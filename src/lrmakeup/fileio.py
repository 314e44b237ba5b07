"""Atomic file writing: every file lrmakeup writes appears whole or not at all.

The temporary file sits beside its target and is named ``.lrmakeup-tmp-<pid>-<random>`` so that one left
behind by a killed process (SIGKILL runs no clean-up) is recognisable: later writes into the same folder
remove such files once their process has gone (see :func:`remove_stale_temps`).
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .errors import InputError

TEMP_PREFIX = ".lrmakeup-tmp-"
STALE_AFTER_S = 60.0  # a temp file of a dead process this old is debris (younger: maybe another host's write)
ABANDONED_AFTER_S = 24 * 3600.0  # this old: debris whatever its pid says (pids are reused)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The data is flushed to disk before the rename; an existing file keeps its permissions, a new one gets
    0644. A failure (or an interrupt) removes the temporary file and leaves any existing ``path`` untouched;
    an ``OSError`` becomes an ``InputError`` naming the path.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist")
    remove_stale_temps(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fp:
            os.fsync(fp.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def check_writable(path: str | os.PathLike, what: str = "output", probe: bool = True) -> Path:
    """Fail early (before any work) when ``path`` could not be written by :func:`atomic_write`.

    Checks that its folder exists, that its name fits the file system, and (``probe``) that a file can be
    created in the folder (read-only folders, ``/proc``). Nothing is left behind. Returns ``path``.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{what} folder does not exist: {folder}")
    check_name_length(path, what)
    if path.is_dir():
        raise InputError(f"{what} '{path}' is a folder")
    if not probe:
        return path
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {what} {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    os.unlink(tmp)
    return path


def check_name_length(path: str | os.PathLike, what: str = "output") -> None:
    """InputError when the last part of ``path`` is longer than its file system allows (usually 255 bytes)."""
    path = Path(path)
    limit = _name_max(path.parent if path.parent.is_dir() else Path("."))
    if len(os.fsencode(path.name)) > limit:
        raise InputError(f"{what} name is longer than {limit} bytes: {path.name[:40]}...")


def remove_stale_temps(folder: str | os.PathLike) -> int:
    """Remove temporary files that killed lrmakeup writes left in ``folder``; returns how many went.

    A temp file is stale when its writer's process no longer runs and it is over a minute old, or when it is
    over a day old. Files of running processes (possibly writing right now) are never touched.
    """
    removed = 0
    now = time.time()
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(TEMP_PREFIX)]
    except OSError:
        return 0
    for entry in entries:
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            pid = int(entry.name[len(TEMP_PREFIX):].split("-", 1)[0])
        except (OSError, ValueError):
            continue
        if age > ABANDONED_AFTER_S or (age > STALE_AFTER_S and pid != os.getpid() and not _running(pid)):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError as exc:  # EPERM: it runs, as another user
        return exc.errno == errno.EPERM
    return True


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255
