"""scripts/run_notebooks.py: the headline line and the atomic writes (the notebooks themselves run under nbval)."""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path

import nbformat
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_notebooks.py"


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def code(outputs, tags=()):
    cell = nbformat.v4.new_code_cell("...", outputs=outputs)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def stdout(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_headline_is_the_last_stdout_line_of_the_tagged_cell(runner):
    nb = notebook(
        code([stdout("not this\n")]),
        code([stdout("epoch 1\n"), nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
              stdout("test acc 0.981\n\n")], tags=["headline"]),
        code([stdout("nor this\n")]),
    )
    assert runner.headline(nb) == "test acc 0.981"


def test_headline_is_empty_without_a_tagged_cell_or_its_output(runner):
    assert runner.headline(notebook(code([stdout("x\n")]))) == ""
    assert runner.headline(notebook(code([], tags=["headline"]))) == ""


def test_write_atomically_replaces_keeps_the_mode_and_leaves_no_temporary_file(runner, tmp_path):
    target = tmp_path / "index.html"
    runner.write_atomically(target, "first")
    assert target.read_text() == "first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not mkstemp's owner-only 0600
    target.chmod(0o664)
    runner.write_atomically(target, "second")
    assert target.read_text() == "second" and stat.S_IMODE(target.stat().st_mode) == 0o664
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]
