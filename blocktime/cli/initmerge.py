"""`init --force` over an existing config: the keys init asks about are replaced, everything else
is kept as it was written, comments included ([smtp], [inbox], [sites], [travel], [policy], [team],
[store]…, and keys of [organizer] and [calendar] init does not ask about), and what changed is said.

Tables are kept as text (tomlkit is not a dependency; the layout stays the user's), then the result
is read back and compared with the old file table by table, so nothing is lost silently.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from blocktime.errors import BadInput

#: the tables `init` writes, and in them the keys it asks about (the rest of them is kept)
ASKED = {"organizer": ("name", "email", "timezone", "language"),
         "calendar": ("profile", "provider", "url", "username", "password_env", "password_keyring", "password",
                      "name")}
_SECRET = ("password",)
_HEADER = re.compile(r"""^\s*\[\[?\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*(\.|\]\]?)""")


def _chunks(text: str) -> tuple[str, list[tuple[str, bool, str]]]:
    """The text before the first table, then each table as (top-level name, dotted?, its text)."""
    head: list[str] = []
    out: list[tuple[str, bool, list[str]]] = []
    in_string = False
    for line in text.splitlines(keepends=True):
        m = None if in_string else _HEADER.match(line)
        if m:
            out.append((m.group(1).strip("\"'"), m.group(2) == ".", [line]))
        else:
            (out[-1][2] if out else head).append(line)
        if (line.count('"""') + line.count("'''")) % 2:
            in_string = not in_string
    return "".join(head), [(name, dotted, "".join(lines)) for name, dotted, lines in out]


def _value(v: Any) -> str:
    """A TOML value for what a kept key held (strings, numbers, booleans, arrays, inline tables)."""
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return json.dumps(str(v))  # dates and times: TOML reads them back as text only if they were


def merge(old_text: str, new_text: str) -> tuple[str, list[str]]:
    """The config to write over `old_text` (init's answers in `new_text`), and one line per change."""
    try:
        old = tomllib.loads(old_text)
    except tomllib.TOMLDecodeError as exc:
        return new_text, [f"the old file could not be read ({exc}): replaced whole"]
    new = tomllib.loads(new_text)
    head, chunks = _chunks(old_text)
    said: list[str] = []
    extra: dict[str, list[str]] = {}
    for table, asked in ASKED.items():
        before, after = old.get(table, {}), new.get(table, {})
        for key in asked:
            if before.get(key) == after.get(key):
                continue
            shown = "" if key in _SECRET else (f": {before[key]} -> {after[key]}" if key in before and key in after
                                               else f": {after[key]}" if key in after else "")
            verb = "set" if key not in before else "removed" if key not in after else "changed"
            said.append(f"{verb} {table}.{key}{shown}")
        for key, v in before.items():
            if key in asked or (isinstance(v, dict) and any(n == table and d for n, d, _ in chunks)):
                continue
            if table == "calendar" and "calendar" not in new:
                said.append(f"dropped calendar.{key} (the embedded calendar has no [calendar])")
                continue
            name = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)
            extra.setdefault(table, []).append(f"{name} = {_value(v)}")
    text = _with_extra(new_text, extra)
    kept = [c for name, dotted, c in chunks if name not in ASKED or dotted]
    if head.strip() and any(line.strip() and not line.lstrip().startswith("#") for line in head.splitlines()):
        text = head.rstrip("\n") + "\n\n" + text  # keys before any table stay first
    if kept:
        text = text.rstrip("\n") + "\n\n" + "".join(kept).strip("\n") + "\n"
    try:
        _check_kept(old, tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        raise BadInput("init --force could not keep the old file's other tables as they were",
                       "edit the file by hand, or move it away and run init again") from None
    names = list(dict.fromkeys(name for name, _dotted, _ in chunks if name not in ASKED))
    keys = [f"{t}.{line.split(' =')[0]}" for t, lines in extra.items() for line in lines]
    if names or keys:
        said.append("kept as they were: " + ", ".join([*(f"[{n}]" for n in names), *keys]))
    return text, said


def _with_extra(text: str, extra: dict[str, list[str]]) -> str:
    """`text` with the kept keys at the end of their table (a table init left out is added)."""
    lines = text.splitlines(keepends=True)
    for table, kept in extra.items():
        block = [f"{line}\n" for line in kept]
        if f"[{table}]\n" not in lines:
            lines += ["\n", f"[{table}]\n", *block]
            continue
        start = lines.index(f"[{table}]\n")
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        lines[end:end] = block
    return "".join(lines)


def _check_kept(old: dict[str, Any], got: dict[str, Any]) -> None:
    for table, value in old.items():
        if table in ASKED:
            mine = {k: v for k, v in value.items() if k not in ASKED[table]} if isinstance(value, dict) else value
            theirs = {k: v for k, v in got.get(table, {}).items() if k not in ASKED[table]}
            if table == "calendar" and "calendar" not in got:
                continue
            same = mine == theirs
        else:
            same = got.get(table) == value
        if not same:
            raise BadInput(f"init --force could not keep [{table}] of the old file as it was",
                           "edit the file by hand, or move it away and run init again")
