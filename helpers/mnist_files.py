"""MNIST's four raw files: get them into ``<root>/MNIST/raw`` without ever leaving a bad or partial one.

:func:`ensure_mnist` does nothing when the four files are already there; otherwise it fetches the
missing ones in one of two ways, tried in order:

1. from the folder named by ``mirror`` or the ``MNIST_MIRROR`` environment variable (the four ``.gz``
   files): each is decompressed to a temporary name beside its destination, checked against its SHA-256
   and only then renamed into place;
2. from the internet, by torchvision's own downloader, into a temporary folder beside ``raw``; the
   files are checked against their SHA-256 and only then renamed into place.

A file whose SHA-256 is wrong is refused (:class:`MNISTChecksumError`); with no mirror and no network
the error (:class:`MNISTUnavailableError`) names both ways out. Parsing the files is :mod:`helpers.data`'s job.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import tempfile
import zlib
from pathlib import Path

# SHA-256 of the decompressed IDX files (the dataset's bytes, whichever mirror they came from).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


class MNISTUnavailableError(RuntimeError):
    """MNIST is not on disk, no mirror was given, and the download failed."""


class MNISTChecksumError(ValueError):
    """A file from the mirror does not have the SHA-256 of the real MNIST file."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _raw_folder(root: str | os.PathLike) -> Path:
    return Path(root) / "MNIST" / "raw"


def _missing_files(root: str | os.PathLike) -> list[str]:
    return [name for name in MNIST_SHA256 if not (_raw_folder(root) / name).is_file()]


def _place_from_mirror(mirror: Path, raw: Path, names: list[str]) -> None:
    """Decompress each file to a temporary name, verify it, then rename it into place."""
    if not mirror.is_dir():
        raise FileNotFoundError(
            f"the MNIST mirror {str(mirror)!r} (resolved from {os.getcwd()!r} to {str(mirror.resolve())!r}) is not "
            "a folder; set MNIST_MIRROR to the folder holding the four MNIST .gz files, best as an absolute path."
        )
    absent = [f"{name}.gz" for name in names if not (mirror / f"{name}.gz").is_file()]
    if absent:  # checked before anything is written
        raise FileNotFoundError(
            f"the MNIST mirror {str(mirror)!r} has no {', '.join(absent)}; it needs the four MNIST .gz files."
        )
    raw.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = mirror / f"{name}.gz"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=raw)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, gzip.open(source, "rb") as src:
                try:
                    shutil.copyfileobj(src, out, length=1 << 20)
                except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # not gzip, truncated, or damaged
                    raise MNISTChecksumError(
                        f"{source} is not a readable gzip file ({exc}). Replace the mirror's copy."
                    ) from None
            actual = _sha256(tmp)
            if actual != MNIST_SHA256[name]:
                raise MNISTChecksumError(
                    f"{source} does not decompress to the real MNIST file {name}: SHA-256 {actual}, "
                    f"expected {MNIST_SHA256[name]}. Replace the mirror's copy."
                )
            os.chmod(tmp, 0o644)  # mkstemp creates files readable by the owner only
            os.replace(tmp, raw / name)
        finally:
            tmp.unlink(missing_ok=True)  # on success it has already been renamed


def ensure_mnist(root: str | os.PathLike = "data", mirror: str | os.PathLike | None = None) -> Path:
    """Make sure the four raw MNIST files are in ``<root>/MNIST/raw``; return that folder.

    Args:
        root: the data folder.
        mirror: a folder holding the four ``.gz`` files; defaults to ``$MNIST_MIRROR``.

    Returns:
        The folder ``<root>/MNIST/raw``.

    Raises:
        FileNotFoundError: the mirror is not a folder, or lacks one of the four ``.gz`` files.
        MNISTChecksumError: a mirror or downloaded file is not the real MNIST (it is not kept, and no
            partial or temporary file is left behind).
        MNISTUnavailableError: no files, no mirror and no network.

    Example:
        >>> ensure_mnist("data").name  # doctest: +SKIP
        'raw'
    """
    raw = _raw_folder(root)
    missing = _missing_files(root)
    if not missing:
        return raw
    if mirror is None and os.environ.get("MNIST_MIRROR") is not None:
        mirror = os.environ["MNIST_MIRROR"]
        if not mirror.strip():
            raise MNISTUnavailableError(
                f"MNIST is not in {raw}, and MNIST_MIRROR is set but empty (a `$(cd ... && pwd)` that "
                "failed leaves it so). Set it to the folder holding the four MNIST .gz files; "
                'check with `ls "$MNIST_MIRROR"`, or `unset MNIST_MIRROR` to download instead.'
            )
    if mirror is not None:
        _place_from_mirror(Path(mirror), raw, missing)
        return raw
    _download(raw, missing)
    return raw


def _download(raw: Path, names: list[str]) -> None:
    """Let torchvision download into a temporary folder beside ``raw``; verify; rename ``names`` into place."""
    from torchvision.datasets import MNIST  # imported here: torchvision takes seconds to import

    raw.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=raw.parent) as tmp:  # removed on any failure
        chatter = io.StringIO()  # torchvision prints each attempt; we raise one message instead
        try:
            with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
                MNIST(tmp, train=True, download=True)
        except Exception as exc:  # any downloader failure (URLError, RuntimeError, ...) means the same here
            lines = str(exc).strip().splitlines()
            reason = lines[0].rstrip(":") if lines else type(exc).__name__
            raise MNISTUnavailableError(
                f"MNIST is not in {raw} and could not be downloaded ({reason}). "
                "Either connect to the internet, or set MNIST_MIRROR to a folder holding "
                "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
                "t10k-labels-idx1-ubyte.gz (e.g. `export MNIST_MIRROR=/absolute/path/to/mnist`)."
            ) from None
        fetched = Path(tmp) / "MNIST" / "raw"
        for name in names:
            if _sha256(fetched / name) != MNIST_SHA256[name]:
                raise MNISTChecksumError(
                    f"the downloaded {name} does not have MNIST's SHA-256; nothing was kept, try again."
                )
        raw.mkdir(exist_ok=True)
        for name in names:
            os.replace(fetched / name, raw / name)
