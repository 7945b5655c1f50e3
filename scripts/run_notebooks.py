"""Execute the notebooks headlessly: into build/ (with HTML and an index page), or in place.

    python scripts/run_notebooks.py --out build             # make run
    python scripts/run_notebooks.py --in-place [NOTEBOOK...] # make refresh (updates nbval's references)
    python scripts/run_notebooks.py --fetch-only            # only make sure MNIST is in data/

One line per notebook: status, seconds, and the headline (the last line printed by the cell
tagged "headline"). Exits non-zero if any notebook fails.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def headline(nb) -> str:
    for cell in nb.cells:
        if "headline" in cell.get("metadata", {}).get("tags", []):
            lines = [line for out in cell.get("outputs", []) if out.get("name") == "stdout"
                     for line in out.get("text", "").splitlines() if line.strip()]
            if lines:
                return lines[-1].strip()
    return ""


def execute(path: Path, timeout: int):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = None
    # The kernel process logs start-up chatter to its own stderr; keep it out of the one-line report
    # and show it only if the notebook fails. Cell output (stderr included) still lands in the notebook.
    with tempfile.TemporaryFile(mode="w+") as kernel_log:
        try:
            client.execute(stderr=kernel_log)
        except Exception as exc:  # report the notebook's own error and go on with the others
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
            kernel_log.seek(0)
            sys.stderr.write(kernel_log.read()[-2000:])
    return nb, time.perf_counter() - start, error


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary name in the same folder, then rename: never a half-written file."""
    # mkstemp makes the file owner-only (0600); keep the mode of the file it replaces, else rw-r--r--.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--out", type=Path, default=ROOT / "build", help="folder for executed copies and HTML")
    mode.add_argument("--in-place", action="store_true", help="overwrite the notebooks with fresh outputs")
    mode.add_argument("--fetch-only", action="store_true", help="only make sure MNIST is present")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args()

    from helpers.mnist_files import MNISTChecksumError, MNISTUnavailableError, ensure_mnist

    try:
        ensure_mnist(ROOT / "data")
    except (MNISTUnavailableError, MNISTChecksumError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.fetch_only:
        print(f"MNIST is ready in {os.path.relpath(ROOT / 'data' / 'MNIST' / 'raw')}")
        return 0

    import nbformat
    from nbconvert import HTMLExporter

    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    absent = [str(path) for path in paths if not path.is_file()]
    if absent:
        print(f"error: no such notebook: {', '.join(absent)}", file=sys.stderr)
        return 2
    if not args.in_place:
        args.out.mkdir(parents=True, exist_ok=True)
    rows, failures, total = [], 0, 0.0
    for path in paths:
        path = path.resolve()
        print(f"{path.stem:34} ", end="", flush=True)  # the name first, so a slow notebook shows what runs
        nb, seconds, error = execute(path, args.timeout)
        total += seconds
        status = "FAIL" if error else "ok"
        failures += bool(error)
        summary = error or headline(nb)
        print(f"{status:4} {seconds:6.1f} s  {summary}", flush=True)
        if args.in_place:
            if not error:  # never overwrite a reference with a failed run
                write_atomically(path, nbformat.writes(nb))
            continue
        write_atomically(args.out / path.name, nbformat.writes(nb))
        body, _ = HTMLExporter().from_notebook_node(nb)
        write_atomically(args.out / f"{path.stem}.html", body)
        rows.append((path.stem, status, seconds, summary))
    if not args.in_place:
        items = "\n".join(
            f"<tr><td><a href='{html.escape(stem)}.html'>{html.escape(stem)}</a></td><td>{status}</td>"
            f"<td>{seconds:.1f} s</td><td>{html.escape(summary)}</td></tr>" for stem, status, seconds, summary in rows)
        write_atomically(args.out / "index.html", (
            "<!doctype html><meta charset='utf-8'><title>PyTorch 模型評估與調試 notebooks</title>"
            "<h1>PyTorch 模型評估與調試 · Evaluating and debugging PyTorch models</h1>"
            f"<table border=1 cellpadding=4><tr><th>notebook</th><th>status</th><th>time</th><th>headline</th></tr>{items}</table>"))
        print(f"{len(paths) - failures}/{len(paths)} notebooks ok in {total:.1f} s; open {os.path.relpath(args.out / 'index.html')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
