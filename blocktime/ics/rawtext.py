"""Real-world calendar text split into what busy extraction needs, before any parsing.

A text is read as one stream of content lines (RFC 5545 §3.1: unfolded; several VCALENDARs in a
row, §3.4, are one stream), so that damage stays where it is: VTIMEZONEs are kept by TZID and
VEVENTs are grouped by UID with their RECURRENCE-ID overrides (RFC 5545 §3.8.4.4), each group to
be parsed on its own. VALARMs are dropped (an alarm never makes time busy, and a damaged one must
not cost its event). Looking at the raw DTSTART/DTEND/RRULE lines (`reach`) tells which groups
cannot reach a window, so that most of a long export is never parsed at all. A sketch (the groups
without the VTIMEZONEs, found by one pattern) is what the sync pass reads of every object: the
UID of its master, and whether it can reach the pass' window.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

BOM = "\ufeff"


def decode_text(raw: bytes | str) -> str:
    """Text of a calendar body: UTF-8 (Latin-1 when it is not), byte-order marks removed."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw
    return text.replace(BOM, "")


@dataclass(slots=True)
class Group:
    """The VEVENTs of one UID (master and overrides) as unfolded content lines."""

    uid: str
    events: list[list[str]] = field(default_factory=list)
    props: list[dict[str, str]] = field(default_factory=list)  # per event: first line of each name
    x_wr_timezone: str | None = None


@dataclass(slots=True)
class Parts:
    """A text's VTIMEZONEs (by TZID, first definition wins) and VEVENT groups (by UID)."""

    zones: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    complete: bool = True  # False: a sketch (`sketch_text`), its VTIMEZONEs left out


def content_lines(text: str) -> list[str]:
    """Unfolded content lines (RFC 5545 §3.1), whatever the line ends, BOMs and blank lines gone
    (Mozilla once wrote a blank line inside a folded one)."""
    return [line for line in _unfolded(text).split("\n") if line.strip()]


def _unfolded(text: str) -> str:
    """The text with "\n" line ends, no blank lines (before unfolding: see `content_lines`), folds undone."""
    text = decode_text(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n\n" in text:
        text = re.sub(r"\n+", "\n", text)
    if "\n " in text or "\n\t" in text:
        text = re.sub(r"\n[ \t]", "", text)
    return text


_NAME = re.compile(r"[^;:]*")
_SPACE = re.compile(r"\s")
_UNNAMED = "(no UID #"  # the key of a VEVENT group without a UID
#: the properties busy extraction reads; the rest of an event (and its damage) is never parsed.
#: ATTENDEE lines are kept only when they say DECLINED (one may be the organizer's own: free time)
NEEDED = frozenset({"BEGIN", "END", "UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
                    "RECURRENCE-ID", "SEQUENCE", "STATUS", "TRANSP", "SUMMARY", "X-BLOCKTIME-SITE"})


def name_of(line: str) -> str:
    """The property name of a content line (before the first ';' or ':'), upper case."""
    m = _NAME.match(line)
    return (m.group() if m else line).strip().upper()


def value_of(line: str) -> str:
    """The value of a content line: what follows the first ':' outside a quoted parameter."""
    if '"' not in line:
        return line.partition(":")[2]
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[i + 1:]
    return ""


def tidy_rrule(line: str) -> str:
    """An RRULE line as RFC 5545 §3.3.10 spells it: no spaces, upper case, no empty parts
    (Exchange writes `BYDAY=MO, TU`; some tools write lower case). The meaning is unchanged."""
    value = value_of(line)
    if value.isupper() and not _SPACE.search(value) and ";;" not in value and not value.endswith(";"):
        return line  # as most rules are
    parts = [p for p in re.sub(r"\s+", "", value).upper().split(";") if p]
    return line[: len(line) - len(value)] + ";".join(parts)


def split_text(text: str) -> Parts:
    """The VTIMEZONEs and the VEVENT groups of `text` (VEVENTs with the NEEDED properties only);
    components never closed end with the text."""
    return _split((name_of(line), line) for line in content_lines(text))


def split_or_warn(label: str, text: str, warnings: list[str], split: Callable[[str], Parts] = split_text
                  ) -> tuple[str, str, Parts] | None:
    """(label, text, its parts), or None with a warning when the text cannot even be split."""
    try:
        return label, text, split(text)
    except Exception as exc:  # real calendars hold every kind of damage
        warnings.append(f"skipped unreadable calendar data in {label}: {type(exc).__name__}")
        return None


#: a content line whose name is not plain upper-case ASCII letters, digits and hyphens, or that
#: has no value (so `name_of` could read it otherwise than the quick pattern below)
_UNUSUAL = re.compile(r"\n[A-Z0-9-]*+(?![;:])")
_KEPT = re.compile(r"\n(" + "|".join(sorted(NEEDED | {"X-WR-TIMEZONE"})) + r")(?=[;:])[^\n]*"
                   r"|\n(ATTENDEE)(?=[;:])[^\n]*?(?i:DECLINED)[^\n]*")


def sketch_text(text: str) -> Parts:
    """`split_text` without the VTIMEZONEs, 3× quicker (the sync pass sketches every object, and
    splits only the few that can reach its window): the same VEVENT groups, line for line, as
    they keep the NEEDED properties only. A text with unusually written names is split in full."""
    body = "\n" + _unfolded(text).strip("\n")
    if _UNUSUAL.search(body):
        return split_text(text)
    parts = _split((m.group(1) or m.group(2), m.group()[1:]) for m in _KEPT.finditer(body))
    parts.complete = False
    return parts


def _split(lines: Iterable[tuple[str, str]]) -> Parts:
    """`split_text` over (name, content line) pairs."""
    parts = Parts()
    stack: list[str] = []
    current: list[str] | None = None  # lines of the open VEVENT or VTIMEZONE
    props: dict[str, str] = {}
    x_wr: str | None = None
    unnamed = 0
    for name, line in lines:
        if name in ("BEGIN", "END"):
            comp = line.partition(":")[2].strip().upper()
            if name == "BEGIN":
                if comp == "VCALENDAR" and not stack:
                    x_wr = None
                if comp in ("VEVENT", "VTIMEZONE") and current is not None:  # the last one never ended
                    while stack and stack[-1] not in ("VEVENT", "VTIMEZONE"):
                        _close(stack.pop(), current)
                    if stack:
                        unnamed = _store(parts, stack.pop(), current, props, x_wr, unnamed)
                    current = None
                stack.append(comp)
                if comp in ("VEVENT", "VTIMEZONE") and current is None:
                    current, props = [f"BEGIN:{comp}"], {}
                elif current is not None and stack[-2:-1] == ["VTIMEZONE"]:
                    current.append(f"BEGIN:{comp}")  # STANDARD / DAYLIGHT
                continue
            if comp not in stack:
                continue  # an END without its BEGIN
            while stack and stack[-1] != comp:
                _close(stack.pop(), current)
            stack.pop()
            if current is not None and comp in ("VEVENT", "VTIMEZONE") and comp not in stack:
                unnamed = _store(parts, comp, current, props, x_wr, unnamed)
                current = None
            else:
                _close(comp, current)
            continue
        if current is None:
            if stack[-1:] == ["VCALENDAR"] and name == "X-WR-TIMEZONE":
                x_wr = value_of(line).strip() or None
            continue
        inner = stack[-1] if stack else ""
        if (inner == "VEVENT" and (name in NEEDED or (name == "ATTENDEE" and "DECLINED" in line.upper()))) or (
                stack.count("VTIMEZONE") and inner in ("VTIMEZONE", "STANDARD", "DAYLIGHT")):
            line = tidy_rrule(line) if name == "RRULE" else line
            current.append(line)
            props.setdefault(name, line)
    if current is not None:  # the text ends inside a component: keep what it says
        while stack and stack[-1] not in ("VEVENT", "VTIMEZONE"):
            _close(stack.pop(), current)
        if stack:
            unnamed = _store(parts, stack[-1], current, props, x_wr, unnamed)
    return parts


def master_uid(parts: Parts) -> str | None:
    """The UID of the first group with a VEVENT that overrides nothing (no RECURRENCE-ID, RFC 5545
    §3.8.4.4): what names a CalDAV object. "" when that VEVENT has no UID; None when no VEVENT is
    a master (tasks only, or overrides alone)."""
    for group in parts.groups.values():
        if any("RECURRENCE-ID" not in props for props in group.props):
            return "" if group.uid.startswith(_UNNAMED) else group.uid
    return None


def _close(comp: str, current: list[str] | None) -> None:
    if current is not None and comp in ("STANDARD", "DAYLIGHT") and current[0] == "BEGIN:VTIMEZONE":
        current.append(f"END:{comp}")


def _store(parts: Parts, comp: str, lines: list[str], props: dict[str, str], x_wr: str | None,
           unnamed: int) -> int:
    lines.append(f"END:{comp}")
    if comp == "VTIMEZONE":
        tzid = value_of(props.get("TZID", "")).strip()
        if tzid:
            parts.zones.setdefault(tzid, lines)
        return unnamed
    uid = value_of(props.get("UID", "")).strip()
    if not uid:
        unnamed += 1
        uid = f"{_UNNAMED}{unnamed})"
    group = parts.groups.setdefault(uid, Group(uid, x_wr_timezone=x_wr))
    group.events.append(lines)
    group.props.append(props)
    return unnamed


def group_text(group: Group) -> str:
    """One VCALENDAR holding the group's VEVENTs (no VTIMEZONE: zones are resolved by busy)."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//blocktime//busy//EN"]
    if group.x_wr_timezone:
        head.append(f"X-WR-TIMEZONE:{group.x_wr_timezone}")
    body = [line for lines in group.events for line in lines]
    return "\r\n".join([*head, *body, "END:VCALENDAR", ""])
