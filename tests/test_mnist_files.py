"""helpers.mnist_files: MNIST's raw files from a mirror or a download, verified, nothing half-written."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import struct
import threading
from pathlib import Path

import pytest
from torchvision.datasets import MNIST

from helpers import mnist_files
from helpers.data import load_mnist
from helpers.mnist_files import MNISTChecksumError, MNISTUnavailableError, ensure_mnist

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


# --------------------------------------------------------------------------------------------- fixtures


def copy_mirror(mirror: Path, target: Path) -> Path:
    target.mkdir()
    for name in NAMES:
        shutil.copyfile(mirror / f"{name}.gz", target / f"{name}.gz")
    return target


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture
def serve(monkeypatch):
    """serve(folder): torchvision downloads MNIST from a local HTTP server over ``folder`` (md5 check off)."""
    servers = []

    def start(folder: Path) -> None:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=folder))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        monkeypatch.delenv("MNIST_MIRROR", raising=False)
        monkeypatch.setattr(MNIST, "mirrors", [f"http://127.0.0.1:{server.server_address[1]}/"])
        # the mirror's .gz bytes differ from torchvision's copies (same data): let our SHA-256 judge instead
        monkeypatch.setattr(MNIST, "resources", [(f"{name}.gz", None) for name in NAMES])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def idx_bytes(type_code: int, shape: tuple[int, ...], values: bytes) -> bytes:
    """A file in MNIST's IDX format (big-endian header: 0, 0, type, ndim, then each dimension)."""
    return struct.pack(">BBBB", 0, 0, type_code, len(shape)) + struct.pack(f">{len(shape)}I", *shape) + values


# --------------------------------------------------------------------------------------------- MNIST on disk


def test_mirror_places_the_four_verified_files_and_nothing_else(mirror, mnist_root, files_under):
    raw = mnist_root / "MNIST" / "raw"
    assert files_under(mnist_root) == sorted(f"MNIST/raw/{name}" for name in NAMES)
    sums = mirror / "SHA256SUMS"  # the mirror's own list where it has one (CI's does)
    expected = dict(line.split()[::-1] for line in sums.read_text().splitlines()) if sums.is_file() else mnist_files.MNIST_SHA256
    for name in NAMES:
        assert hashlib.sha256((raw / name).read_bytes()).hexdigest() == expected[name]
        assert (raw / name).stat().st_mode & 0o444 == 0o444  # readable by all, not only the owner


def test_files_already_in_place_need_neither_mirror_nor_network(mnist_root, offline):
    assert ensure_mnist(mnist_root) == mnist_root / "MNIST" / "raw"


@pytest.mark.parametrize("corrupted, replacement", [
    ("train-images-idx3-ubyte", "junk"),      # the first file: nothing at all may be placed
    ("t10k-labels-idx1-ubyte", "one_label"),  # the last: the three good ones stay, it does not
])
def test_corrupted_mirror_is_refused_and_leaves_nothing_behind(mirror, tmp_path, corrupted, replacement, files_under):
    bad = copy_mirror(mirror, tmp_path / "mirror")
    if replacement == "junk":
        payload = b"\x00" * 4096
    else:  # the real file with one label changed: same size, valid gzip, wrong bytes
        with gzip.open(mirror / f"{corrupted}.gz", "rb") as f:
            payload = bytearray(f.read())
        payload[-1] = (payload[-1] + 1) % 10
    (bad / f"{corrupted}.gz").write_bytes(gzip.compress(bytes(payload)))
    root = tmp_path / "data"
    with pytest.raises(MNISTChecksumError, match=f"{corrupted}.gz does not decompress to the real MNIST file"):
        ensure_mnist(root, mirror=bad)
    good_before = NAMES[:NAMES.index(corrupted)]
    assert files_under(root) == sorted(f"MNIST/raw/{name}" for name in good_before)  # no .part, no bad file


@pytest.mark.parametrize("damage", ["not_gzip", "truncated"])
def test_unreadable_gzip_in_mirror_is_refused_and_leaves_nothing_behind(mirror, tmp_path, damage, files_under):
    bad = copy_mirror(mirror, tmp_path / "mirror")
    target = bad / "train-images-idx3-ubyte.gz"
    content = target.read_bytes()
    target.write_bytes(b"plain text, not gzip" if damage == "not_gzip" else content[: len(content) // 2])
    root = tmp_path / "data"
    with pytest.raises(MNISTChecksumError, match="train-images-idx3-ubyte.gz is not a readable gzip file"):
        ensure_mnist(root, mirror=bad)
    assert files_under(root) == []


def test_mirror_missing_a_file_is_refused_before_anything_is_written(mirror, tmp_path):
    partial = copy_mirror(mirror, tmp_path / "mirror")
    (partial / "t10k-images-idx3-ubyte.gz").unlink()
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="has no t10k-images-idx3-ubyte.gz; it needs the four MNIST .gz"):
        ensure_mnist(root, mirror=partial)
    assert not root.exists()


def test_mirror_that_is_not_a_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_mnist(tmp_path / "data")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_mirror_variable_is_named_not_downloaded_around(tmp_path, monkeypatch, value):
    monkeypatch.setenv("MNIST_MIRROR", value)  # what `export MNIST_MIRROR="$(cd missing && pwd)"` leaves
    with pytest.raises(MNISTUnavailableError, match="MNIST_MIRROR is set but empty"):
        load_mnist(tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_offline_without_mirror_says_both_ways_out(tmp_path, offline, files_under):
    with pytest.raises(MNISTUnavailableError, match="could not be downloaded") as caught:
        load_mnist(tmp_path, train=False)
    message = str(caught.value)
    assert "MNIST_MIRROR" in message and "internet" in message
    assert files_under(tmp_path) == []  # no partial download, no temporary folder


def test_a_download_that_breaks_halfway_leaves_nothing_behind(tmp_path, monkeypatch, files_under):
    def broken_download(self):
        os.makedirs(self.raw_folder, exist_ok=True)
        Path(self.raw_folder, "train-images-idx3-ubyte.gz").write_bytes(b"the first bytes")
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    monkeypatch.setattr(MNIST, "download", broken_download)
    with pytest.raises(MNISTUnavailableError, match=r"\(connection reset by peer\).*MNIST_MIRROR"):
        ensure_mnist(tmp_path)
    assert files_under(tmp_path) == []


def test_download_is_verified_then_placed(mirror, tmp_path, serve, files_under):
    serve(mirror)
    raw = ensure_mnist(tmp_path / "data")
    assert files_under(tmp_path / "data") == sorted(f"MNIST/raw/{name}" for name in NAMES)
    assert all(hashlib.sha256((raw / name).read_bytes()).hexdigest() == mnist_files.MNIST_SHA256[name] for name in NAMES)


def test_download_with_wrong_checksum_keeps_nothing(tmp_path, serve, files_under):
    # tiny but well-formed IDX files: torchvision reads them, our SHA-256 check must refuse them
    fake = tmp_path / "fake-mirror"
    fake.mkdir()
    for prefix in ("train", "t10k"):
        images = idx_bytes(0x08, (2, 28, 28), bytes(2 * 28 * 28))
        (fake / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        (fake / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(0x08, (2,), b"\x01\x02")))
    serve(fake)
    with pytest.raises(MNISTChecksumError, match="the downloaded train-images-idx3-ubyte does not have MNIST's SHA-256"):
        ensure_mnist(tmp_path / "data")
    assert files_under(tmp_path / "data") == []
