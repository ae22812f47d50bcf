"""Atomic writes: complete or absent, never half-written."""

from __future__ import annotations

import gzip

import pytest

from avaloc.fileio import atomic_path, atomic_write


def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    with atomic_write(target) as handle:
        handle.write("hello\n")
    assert target.read_text() == "hello\n"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("new, half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_gzip_target(tmp_path):
    with atomic_write(tmp_path / "a.csv.gz") as handle:
        handle.write("x,1\n")
    assert gzip.decompress((tmp_path / "a.csv.gz").read_bytes()) == b"x,1\n"


def test_atomic_path_keeps_suffix(tmp_path):
    with atomic_path(tmp_path / "model.onnx") as tmp:
        assert tmp.name.endswith(".onnx") and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "model.onnx").read_bytes() == b"x"
