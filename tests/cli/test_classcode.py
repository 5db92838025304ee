"""Dataclasses made through the compiled-code cache are the classes `dataclass` makes."""

from __future__ import annotations

import dataclasses
import inspect
import marshal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from blocktime.cli import classcode

PROGRAM = """
import dataclasses, inspect, json, sys
from pathlib import Path
from blocktime.cli import classcode
if sys.argv[1] == "cached":
    classcode.install(Path(sys.argv[2]))

@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Span:
    start: int
    end: int = 5
    tags: tuple[str, ...] = ()

s = Span(1, tags=("a",))
print(json.dumps({
    "repr": repr(s), "eq": s == Span(1, 5, ("a",)), "lt": s < Span(2), "hash": hash(s) == hash(Span(1, 5, ("a",))),
    "signature": str(inspect.signature(Span)), "annotations": repr(Span.__init__.__annotations__),
    "replace": repr(dataclasses.replace(s, end=9)), "fields": [f.name for f in dataclasses.fields(Span)],
}))
try:
    s.start = 3
except dataclasses.FrozenInstanceError as exc:
    print(type(exc).__name__)
"""


def _run(tmp_path: Path, mode: str, file: Path, *, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode, str(file)], capture_output=True, text=True,
                          check=True, timeout=60, env=env)
    return done.stdout


def test_the_same_classes_with_and_without_the_cache_and_from_the_file(tmp_path: Path) -> None:
    file = tmp_path / "cache" / "classcode.marshal"
    plain = _run(tmp_path, "plain", file)
    first = _run(tmp_path, "cached", file, env={"PATH": "/usr/bin:/bin"})  # compiles, writes the file
    assert file.exists()
    version, codes = marshal.loads(file.read_bytes())
    assert version == sys.version and codes and all(isinstance(k, str) for k in codes)
    second = _run(tmp_path, "cached", file, env={"PATH": "/usr/bin:/bin"})  # from the file
    assert plain == first == second
    assert "FrozenInstanceError" in plain


def test_no_file_without_bytecode_writing(tmp_path: Path) -> None:
    file = tmp_path / "classcode.marshal"
    _run(tmp_path, "cached", file, env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert not file.exists()


@pytest.mark.parametrize("content", [b"", b"garbage", marshal.dumps(("2.7.18", {"x": compile("1", "<s>", "exec")})),
                                     marshal.dumps(["not", "a", "pair"])])
def test_an_unreadable_or_foreign_file_is_ignored(tmp_path: Path, content: bytes) -> None:
    file = tmp_path / "classcode.marshal"
    file.write_bytes(content)
    assert classcode._read(file) == {}


def test_a_cached_class_in_this_process() -> None:
    classcode.install()  # (installed once; again is a no-op)
    classcode.install()

    @dataclasses.dataclass(frozen=True, slots=True)
    class At:
        when: datetime
        note: str = ""

    a = At(datetime(2026, 3, 20), "x")
    assert a == At(datetime(2026, 3, 20), "x") and hash(a) == hash(At(datetime(2026, 3, 20), "x"))
    assert repr(a).endswith("<locals>.At(when=datetime.datetime(2026, 3, 20, 0, 0), note='x')")
    assert str(inspect.signature(At)) == "(when: 'datetime', note: 'str' = '') -> None"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.note = "y"  # type: ignore[misc]
