"""Writing outputs so that nothing is lost: checked before the work starts, written to a temporary
name beside the target (one per process: two programs saving one name at once never share it), then
moved into place; never over an existing file unless asked; and when the place is gone at the end
(disk full, folder removed), somewhere else.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ginn_gl.core.errors import UserError

PARTIAL = ".partial"  # this process's temporary name of STEM.EXT is .STEM.partial-PID.EXT, in the same folder


def partial_path(path: Path, pid: int | None = None) -> Path:
    """This process's temporary name of `path` (a save that dies leaves at most this; a later save
    removes it). It keeps the suffix, which some encoders (ffmpeg) read the format from."""
    return path.with_name(f".{path.stem}{PARTIAL}-{os.getpid() if pid is None else pid}{path.suffix}")


def partials(path: Path) -> list[tuple[Path, bool]]:
    """The temporary names of `path` in its folder, each with whether its writer is still running."""
    found = []
    prefix = f".{path.stem}{PARTIAL}-"
    try:
        entries = list(path.parent.iterdir()) if path.parent.is_dir() else []
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(path.suffix)):
            continue
        pid = name[len(prefix):len(name) - len(path.suffix)] if path.suffix else name[len(prefix):]
        found.append((entry, pid.isdigit() and _running(int(pid))))
    return found


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or a number we cannot ask about: leave its file
    return True


def remove_leftovers(path: Path) -> None:
    """Remove the temporary names of `path` that killed saves left behind (their process is gone)."""
    for entry, running in partials(path):
        if not running:
            try:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            except OSError:
                pass


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def check_output(path: str | Path, option: str, overwrite: bool = False, folder_ok: bool = False) -> Path:
    """Refuse, before any work, an output that cannot be written: an empty name, `/`, a folder where a
    file is wanted, a parent that is a file or cannot be made or written, an existing file (unless
    `overwrite`). Makes the parent folder; returns the path."""
    text = path if isinstance(path, str) else str(path)
    if text.strip() == "":
        raise UserError(f"{option} is empty; give a file name, e.g. {option} runs/mine.npz")
    path = Path(text).expanduser()
    if path.resolve() == Path(path.resolve().anchor).resolve():
        raise UserError(f"{option} {text!r} is the root folder; give a file name inside a folder")
    if path.is_dir() and not folder_ok:
        raise UserError(f"{option} {text!r} is a folder; give a file name, e.g. {option} {path / 'out'}")
    if path.exists() and not (path.is_dir() and folder_ok) and not overwrite:
        raise UserError(f"{text} exists; give --overwrite to replace it, or another {option}")
    if path.exists() and not path.is_file() and not path.is_dir():
        raise UserError(f"{option} {text!r} is not a regular file (a device or a pipe); give a file name")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{option} {text!r}: {parent} is a file, not a folder; give a path in a folder") from None
    except OSError as exc:
        raise UserError(f"{option} {text!r}: cannot make the folder {parent} ({_reason(exc)}); "
                        "give a path in a writable folder") from None
    probe = partial_path(path)
    try:  # the one sure test of writability (root ignores permissions; read-only mounts do not)
        with open(probe, "wb"):
            pass
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{option} {text!r}: cannot write in {parent} ({_reason(exc)}); "
                        "give a path in a writable folder") from None
    return path


def free_name(path: Path) -> Path:
    """`path`, or `stem-2.suffix`, `stem-3.suffix`, ... the first that does not exist."""
    candidate, number = path, 1
    while candidate.exists() or any(running for _, running in partials(candidate)):
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def place(tmp: Path, path: Path, overwrite: bool) -> Path:
    """Move the finished temporary `tmp` to `path`; without `overwrite` never onto an existing file
    (another run may have written it meanwhile): then to the next free numbered name. Returns the path."""
    if overwrite:
        os.replace(tmp, path)
        return path
    while True:
        try:
            os.link(tmp, path)  # fails if `path` exists: two writers cannot both win a name
        except FileExistsError:
            path = free_name(path)
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            if path.exists():  # a file system without hard links: the check and the move are two steps
                path = free_name(path)
            os.replace(tmp, path)
            return path
        tmp.unlink()
        return path


def write_atomically(path: Path, write: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Run write(tmp) on the one temporary name of `path`, sync it, then place it; a failure leaves
    any old file as it was and no temporary behind. Returns where it landed."""
    tmp = partial_path(path)
    try:
        remove_leftovers(path)  # saves that died before: their temporary files go
        if tmp.is_dir():
            shutil.rmtree(tmp)
        else:
            tmp.unlink(missing_ok=True)
        write(tmp)
        if tmp.is_file():
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return place(tmp, path, overwrite) if tmp.is_file() else place_folder(tmp, path, overwrite)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def place_folder(tmp: Path, path: Path, overwrite: bool) -> Path:
    """A folder of frames: to `path` if it is new or empty; with `overwrite`, its old frames go first."""
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            path = free_name(path)
        else:
            shutil.rmtree(path)
    elif path.is_dir():
        path.rmdir()
    os.replace(tmp, path)
    return path


def fallback_paths(path: Path) -> list[Path]:
    """Where a run goes when its own place fails at the end: the current folder, then the temp folder."""
    return [Path.cwd() / path.name, Path(tempfile.gettempdir()) / path.name]
