"""Reading a stranger's .npz without trusting it: a regular file that starts like a zip, entries whose
npy headers are read and checked (dtype, shape, size against a bound) before a byte of their data
is decompressed, and never a pickle. A 3 MB file cannot make us allocate gigabytes.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
MAX_HEADER = 10_000  # bytes of an npy header: ours are about 100


class NpzError(Exception):
    """Why an archive or one of its entries cannot be read; the message is a clause for the user."""


def open_archive(path: Path) -> zipfile.ZipFile:
    """The zip behind `path`, after checking it is a regular file that starts like one."""
    try:
        info = path.stat()
    except OSError as exc:
        raise NpzError(f"it cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise NpzError("it is not a regular file (a device, a pipe or a socket)")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
        if magic not in ZIP_MAGIC:
            raise NpzError("it is not an .npz archive (it does not start like a zip file)")
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError):
        raise NpzError("it is truncated or not an .npz archive") from None
    except OSError as exc:
        raise NpzError(f"it cannot be read ({exc.strerror or exc})") from None


def entry_names(archive: zipfile.ZipFile) -> set[str]:
    return {name[:-4] for name in archive.namelist() if name.endswith(".npy")}


def read_text(archive: zipfile.ZipFile, name: str, max_chars: int) -> str:
    """Entry `name`, a single string (a 0-d unicode array) of at most `max_chars` characters."""
    return str(read_entry(archive, name, "text", 0, (), max_chars))


def read_entry(archive: zipfile.ZipFile, name: str, dtype: np.dtype | str, ndim: int,
               max_shape: tuple[int, ...], max_chars: int = 0) -> np.ndarray:
    """Entry `name` as an array of exactly `dtype` ("text": a string of at most `max_chars`) and
    `ndim`, each dimension at most `max_shape`'s; the header is checked before any data is read."""
    try:
        info = archive.getinfo(f"{name}.npy")
        with archive.open(info) as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, found = np.lib.format.read_array_header_1_0(handle, max_header_size=MAX_HEADER)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, found = np.lib.format.read_array_header_2_0(handle, max_header_size=MAX_HEADER)
            else:
                raise NpzError(f"its '{name}' entry has an npy version {version} this reader does not know")
            if found.hasobject:
                raise NpzError(f"its '{name}' entry holds pickled objects, which are never loaded")
            text = dtype == "text"
            wanted_type = found.kind == "U" and found.itemsize <= 4 * max_chars if text else found == np.dtype(dtype)
            if not wanted_type or len(shape) != ndim:
                expected = f"a string of at most {max_chars} characters" if text else f"{np.dtype(dtype)}"
                raise NpzError(f"its '{name}' entry is {found} with {len(shape)} dimensions, expected "
                               f"{expected} with {ndim}")
            if any(n > limit for n, limit in zip(shape, max_shape)):
                raise NpzError(f"its '{name}' entry declares shape {shape}, more than this run can hold "
                               f"({', '.join(map(str, max_shape))} at most)")
            if fortran and ndim > 1:
                raise NpzError(f"its '{name}' entry is in Fortran order, which run files never are")
            count = int(np.prod(shape, dtype=np.int64))
            nbytes = count * found.itemsize
            if nbytes > info.file_size:  # the zip directory says less data than the header claims
                raise NpzError(f"its '{name}' entry is truncated")
            data = handle.read(nbytes)
            if len(data) != nbytes:
                raise NpzError(f"its '{name}' entry is truncated")
    except NpzError:
        raise
    except KeyError:
        raise NpzError(f"it lacks '{name}'") from None
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise NpzError(f"its '{name}' entry cannot be read ({exc.__class__.__name__})") from None
    return np.frombuffer(data, dtype=found).reshape(shape).copy()
