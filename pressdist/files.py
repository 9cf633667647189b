"""Reading and writing workspace files safely.

Owns two promises of the design: files are read as UTF-8 or refused with the
line of the first bad byte, and every file pressdist writes appears whole or not
at all (temp file in the same folder, fsync, rename).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from pressdist.errors import InputError, PressdistError


def read_text(path: Path, *, what: str = "file") -> str:
    """Read a UTF-8 text file (a BOM is dropped); refuse binary or other encodings."""
    return decode_utf8(read_bytes(path, what=what), path, what=what)


def read_bytes(path: Path, *, what: str = "file", hint: str | None = None) -> bytes:
    """The bytes of ``path``, or an InputError naming it; ``hint`` says what to do if missing."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=path, hint=hint) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory, expected a file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path=path) from None


def decode_utf8(data: bytes, path: Path, *, what: str = "file") -> str:
    if b"\x00" in data[:8192]:
        raise InputError(
            f"{what} looks binary (it contains NUL bytes), not text",
            path=path,
            # Only the importer takes a .pdf too; a binary .po or list is a wrong file.
            hint="give the release's text, or the .pdf itself"
            if what == "text file"
            else f"check that this is the right file: a {what} is UTF-8 text",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{what} is not UTF-8 (byte 0x{data[exc.start]:02x} cannot be decoded)",
            path=path,
            line=line,
            hint="save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 IN > OUT`",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def output_folder(path: Path) -> Path:
    """The folder a user-given output ``path`` goes into, which must exist already.

    Workspace folders are made as needed, but a folder the user typed is not:
    a typo would otherwise leave new directories behind and the file elsewhere.
    """
    folder = Path(path).parent
    if not folder.is_dir():
        raise InputError(
            f"folder {folder} does not exist"
            if not folder.exists()
            else f"{folder} is not a folder",
            path=path,
            hint="check the path for a typo, or create the folder first",
        )
    return folder


def atomic_write(path: Path, data: str | bytes, *, make_folders: bool = True) -> bool:
    """Write ``data`` to ``path`` whole or not at all; return False when unchanged.

    Unchanged content is not rewritten, so mtimes (and the memory index, which
    keys on them) stay put when a command is run twice. ``make_folders=False``
    is for paths the user gave: their folder must exist (``output_folder``).
    """
    if not make_folders:
        output_folder(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.read_bytes() == raw:
            return False
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise
    return True


def _cannot_write(path: Path, exc: OSError) -> PressdistError:
    why = exc.strerror or str(exc)
    if isinstance(exc, FileExistsError | NotADirectoryError):
        why = "a file stands where its folder should be"
    return PressdistError(
        f"cannot write the file: {why}",
        path=path,
        hint="check the path, that its folder is writable and the disk is not full",
    )
