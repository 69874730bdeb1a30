"""Writing outputs so that nothing is lost: checked before the work starts, written to a temporary
name beside the target (one per process: two programs saving one name at once never share it), then
moved into place; never over an existing file unless asked; and when the place is gone at the end
(disk full, folder removed), somewhere else.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
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


def printable(text: object) -> str:
    """`text` with control characters (and lone surrogates) escaped: a name from a file or the command
    line cannot drive the terminal."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in str(text))


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def absolute(text: str | Path) -> Path:
    """`text` as an absolute path whose last part is a real name ('.', '..' and 'a/..' resolved)."""
    path = Path(text).expanduser()
    return Path(os.path.abspath(path))


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: str | Path, option: str, overwrite: bool = False, folder_ok: bool = False,
                 inputs: Sequence[str | Path] = ()) -> Path:
    """Refuse, before any work, an output that cannot be written: an empty name, `/`, a folder where a
    file is wanted, a device, a pipe or a socket, an input of the same command, a parent that is a file
    or cannot be made or written, an existing file (unless `overwrite`). Makes the parent folder;
    returns the path (absolute when it was given as '.' or '..')."""
    text = path if isinstance(path, str) else str(path)
    if text.strip() == "":
        raise UserError(f"{option} is empty; give a file name, e.g. {option} runs/mine.npz")
    path = Path(text).expanduser()
    if path.name in ("", ".", ".."):
        path = absolute(path)
    shown = printable(text)
    if path.resolve() == Path(path.resolve().anchor).resolve():
        raise UserError(f"{option} {shown!r} is the root folder; give a file name inside a folder")
    for given in inputs:
        if same_file(path, Path(given)):
            raise UserError(f"{option} {shown!r} is also an input of this command; give another name for the output")
    if path.is_dir() and not folder_ok:
        raise UserError(f"{option} {shown!r} is a folder; give a file name, e.g. {option} {printable(path / 'out')}")
    if path.exists() and not path.is_file() and not path.is_dir():
        raise UserError(f"{option} {shown!r} is not a regular file (a device, a pipe or a socket); give a file name")
    if os.path.lexists(path) and not (path.is_dir() and folder_ok) and not overwrite:  # a dangling link too
        raise UserError(f"{shown} exists; give --overwrite to replace it, or another {option}")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{option} {shown!r}: {printable(parent)} is a file, not a folder; give a path in a "
                        "folder") from None
    except OSError as exc:
        raise UserError(f"{option} {shown!r}: cannot make the folder {printable(parent)} ({_reason(exc)}); "
                        "give a path in a writable folder") from None
    probe = partial_path(path)
    try:  # the one sure test of writability (root ignores permissions; read-only mounts do not)
        with open(probe, "wb"):
            pass
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{option} {shown!r}: cannot write in {printable(parent)} ({_reason(exc)}); "
                        "give a path in a writable folder") from None
    return path


# ---- folders of frames ----------------------------------------------------------------------------

FRAMES_MANIFEST = ".ginn-gl-frames.json"  # the frames an export wrote into a folder: only those may go


def written_frames(folder: Path) -> list[str] | None:
    """The names of the frames an export wrote into `folder`, from its manifest (None: no readable one)."""
    try:
        names = json.loads((folder / FRAMES_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) and "/" not in n and n not in ("", ".", "..")
                                              for n in names):
        return None
    return names


def foreign_entries(folder: Path) -> list[str]:
    """What `folder` holds that no export of ours wrote (its manifest lists what an export wrote)."""
    ours = set(written_frames(folder) or ()) | ({FRAMES_MANIFEST} if written_frames(folder) is not None else set())
    try:
        return sorted(entry.name for entry in folder.iterdir() if entry.name not in ours)
    except OSError:
        return []


def check_frames_folder(path: str | Path, option: str, overwrite: bool = False,
                        inputs: Sequence[str | Path] = ()) -> Path:
    """A folder for PNG frames, checked before any drawing: new, empty, or (with `overwrite`) holding only
    frames an earlier export wrote there. A folder with anything else in it is refused, whatever the
    options: an export never removes a file it did not write."""
    path = absolute(check_output(path, option, overwrite=overwrite, folder_ok=True, inputs=inputs))
    here = Path.cwd()
    if path == here or path in here.parents:
        raise UserError(f"{option} {printable(path)} is the current folder or one above it; give a new folder's name "
                        f"for the frames, e.g. {option} frames")
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {printable(path)} is a file, not a folder; give a folder for PNG frames, or a "
                        ".gif or .mp4 name")
    for given in inputs:
        if absolute(given).parent == path or path in absolute(given).parents:
            raise UserError(f"{option} {printable(path)} holds an input of this command; give an empty or new folder")
    if path.is_dir() and any(path.iterdir()):
        foreign = foreign_entries(path)
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            names = ", ".join(printable(name) for name in foreign[:3])
            raise UserError(f"{option} {printable(path)} holds files ginn-gl did not write there ({names}{more}); "
                            "give an empty or new folder")
        if not overwrite:
            raise UserError(f"{printable(path)} holds the frames of an earlier export; give --overwrite to replace "
                            "them, or another folder")
    return path


def write_manifest(folder: Path, names: list[str]) -> None:
    (folder / FRAMES_MANIFEST).write_text(json.dumps(names), encoding="utf-8")


def free_name(path: Path) -> Path:
    """`path`, or `stem-2.suffix`, `stem-3.suffix`, ... the first that does not exist."""
    candidate, number = path, 1
    while os.path.lexists(candidate) or any(running for _, running in partials(candidate)):
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
    """A folder of frames: to `path` if it is new or empty; with `overwrite`, the frames an earlier export
    wrote there (by its manifest) go first, and nothing else ever does. A folder that gained other files
    since it was checked keeps them: the new frames then go to the next free name."""
    if path.is_dir() and any(path.iterdir()):
        if not overwrite or foreign_entries(path):
            path = free_name(path)
        else:
            for name in [*(written_frames(path) or ()), FRAMES_MANIFEST]:
                (path / name).unlink(missing_ok=True)
    if path.is_symlink() and not path.is_dir():  # a link (dangling, or to a file) in the folder's place: replaced
        if not overwrite:
            path = free_name(path)
        else:
            path.unlink()
    if path.is_dir():
        try:
            path.rmdir()
        except OSError:  # a file arrived meanwhile: keep it, and the new frames beside it
            path = free_name(path)
    os.replace(tmp, path)
    return path


def fallback_paths(path: Path) -> list[Path]:
    """Where a run goes when its own place fails at the end: the current folder, then the temp folder."""
    return [Path.cwd() / path.name, Path(tempfile.gettempdir()) / path.name]
