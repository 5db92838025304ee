"""Dataclasses made without compiling their methods again each run.

Python 3.11's `@dataclass` writes the source of `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` for every class and compiles each piece (about 75 µs each here:
half a millisecond per frozen class, 20 ms of `agenda`'s start and more of a daemon pass). The
sources are the same every run, so their compiled code is kept beside the package's bytecode, as
the `.pyc` files are, and reused: same text, same code, the same classes.

`install` makes `dataclasses` compile through the cache (its own name `exec`, which shadows the
builtin in that module only); the cache is read once and written at exit when this run compiled
something new, unless bytecode is not written (`PYTHONDONTWRITEBYTECODE`). A missing, unreadable
or foreign (other Python) file is only a slower start.
"""

from __future__ import annotations

import atexit
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

#: the file, next to this package's bytecode; one per Python build (code objects are not portable)
FILE = Path(__file__).parent / "__pycache__" / f"classcode.{sys.implementation.cache_tag}.marshal"
LIMIT = 5000  # more entries than blocktime and its libraries make: start over (old classes' code)

_codes: dict[str, CodeType] = {}
_new: list[str] = []


def install(file: Path = FILE) -> None:
    """Route `dataclasses`' compiling through the cache (once per process)."""
    import dataclasses

    if getattr(dataclasses, "exec", None) is _exec:
        return
    _codes.update(_read(file))
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    atexit.register(_write, file)


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: dict[str, Any] | None = None) -> None:
    if isinstance(source, str):
        code = _codes.get(source)
        if code is None:
            # dont_inherit: compiled as `dataclasses` compiles it, without this module's __future__ flags
            code = _codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
            _new.append(source)
        source = code
    exec(source, globals, locals)


def _read(file: Path) -> dict[str, CodeType]:
    try:
        version, codes = marshal.loads(file.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if version != sys.version or not isinstance(codes, dict):
        return {}
    return {k: v for k, v in codes.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _write(file: Path) -> None:
    if not _new or sys.dont_write_bytecode:
        return
    codes = _codes if len(_codes) <= LIMIT else {k: _codes[k] for k in _new}
    tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(exist_ok=True)
        tmp.write_bytes(marshal.dumps((sys.version, codes)))
        os.replace(tmp, file)
    except OSError:  # a read-only install: compiled every run, as without the cache
        tmp.unlink(missing_ok=True)
