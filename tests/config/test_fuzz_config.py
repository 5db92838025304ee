"""Fuzzing the config file: random TOML documents over the schema's sections and keys, with values
of every TOML type (and text that looks almost right), either load or raise BadInput naming the
file — never another exception."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from blocktime.config.loading import load
from blocktime.config.schema import SCHEMA, Config
from blocktime.errors import BadInput

PLAUSIBLE = [
    "30m", "1h30m", "0", "0m", "90", "-5m", "9999999999d", "99999999999999999999", "48h", "1d", "2 working days",
    "99999999999999999999 working days", "0 working days", "Europe/Warsaw", "Mars/Base", "../../etc/passwd",
    "/etc/localtime", "UTC", "~nosuchuser/x", "~/x", "~", "", " ", "a@b", "@", "a@", "anna@example.com",
    "Mon-Fri 08:00-18:00", "Sun-Sat 00:00-24:00", "Mon 25:00-26:00", "Fri-Mon 22:00-06:00", "Xyz 08:00-09:00",
    "01:30", "02:30", "24:00", "23:59:59.999999", "starttls", "ssl", "none", "SSL", "file", "keyring", "google",
    "outlook", "caldav", "local", "fastmail", "icloud", "nosuchprofile", "/nonexistent/profile.toml",
    "http://127.0.0.1:1/", "https://user:secret@127.0.0.1/dav/", "file:///etc/passwd", "en", "pl", "xx",
    "PATH", "HOME", "BLOCKTIME_NO_SUCH_VARIABLE", "a\x00b", "\u202e", "ä" * 200,
]
KEYS = sorted({k for body in SCHEMA.values() for k in body} | {"hours", "unknown", "password_env"})
SECTIONS = [*SCHEMA, "sites", "unknown", "Calendar"]

# TOML has no lone surrogates; everything else is fair game
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=25)
scalars = st.one_of(
    st.sampled_from(PLAUSIBLE), _text, st.integers(), st.sampled_from([0, -1, 1, 65535, 65536, 2**63 - 1, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.dates(), st.times(),
    st.datetimes(), st.datetimes(timezones=st.timezones()),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS) | _text, inner, max_size=3)), max_leaves=6)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from(SECTIONS), max_size=6, unique=True)):
        if draw(st.integers(0, 9)) == 0:  # a section that is not a table
            doc[section] = draw(scalars)
            continue
        known = sorted(SCHEMA.get(section, {})) or KEYS
        if section == "sites":
            doc[section] = draw(st.dictionaries(_text | st.just("Acme HQ"), st.dictionaries(
                st.sampled_from(["hours", "open"]), values, max_size=2) | scalars, max_size=3))
        else:
            doc[section] = draw(st.dictionaries(st.sampled_from(known) | st.sampled_from(KEYS), values, max_size=6))
    return doc


def _str(s: str) -> str:
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_str(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml(doc: dict[str, Any]) -> str:
    top = [f"{_str(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    tables = [f"[{_str(k)}]\n" + "".join(f"{_str(key)} = {toml_value(x)}\n" for key, x in v.items())
              for k, v in doc.items() if isinstance(v, dict)]
    return "\n".join(top) + "\n" + "\n".join(tables)


def test_the_serializer_writes_what_tomllib_reads() -> None:
    import tomllib

    doc = {"a": {"b": [1, 2.5, "x\x00\"y"], "c": {"d": True}, "e": date(2026, 3, 24)}, "top": "t"}
    assert tomllib.loads(toml(doc)) == doc


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BLOCKTIME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PASSWORD_FROM_ENV", "s3cret")
    return tmp_path


def _load(path: Path, text: str) -> Config | None:
    path.write_text(text, encoding="utf-8")
    try:
        return load(str(path))
    except BadInput as exc:
        assert exc.exit_code == 2 and str(path) in exc.message, exc.message
        return None


def test_random_config_files_load_or_list_their_problems(env: Path) -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(documents())
    @example({"outbox": {"dir": "~nosuchuser/outbox"}})
    @example({"calendar": {"profile": "~nosuchuser/x.toml"}})
    @example({"calendar": {"password_env": "a\x00b", "username": "u"}})
    @example({"policy": {"horizon": "99999999d", "min_notice": 2**70}})
    @example({"daemon": {"nightly": "02:30"}, "organizer": {"timezone": "Europe/Warsaw"}})
    @example({"sites": {"Acme HQ": {"hours": ["Mon-Fri 08:00-18:00"]}}})
    def check(doc: dict[str, Any]) -> None:
        _load(env / "config.toml", toml(doc))

    check()


def test_damaged_toml_text_is_bad_input(env: Path) -> None:
    good = toml({"organizer": {"name": "Anna", "timezone": "Europe/Warsaw"}, "policy": {"horizon": "21d"}})

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(0, len(good)), st.text(max_size=5))
    def check(cut: int, junk: str) -> None:
        _load(env / "config.toml", good[:cut] + junk + good[cut:])

    check()


def test_problems_are_listed_together(env: Path) -> None:
    text = toml({"policy": {"horizon": "soon", "options": 0}, "organizer": {"email": "nobody"},
                 "unknown": {"x": 1}})
    with pytest.raises(BadInput) as info:
        load(str(env / "c.toml")) if (env / "c.toml").write_text(text) else None
    assert info.value.message.startswith("4 problems: ")
    for key in ("horizon", "options", "email", "[unknown]"):
        assert key in info.value.message
