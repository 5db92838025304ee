"""Split a whole-calendar export into one CalDAV object per UID (RFC 4791 §4.1).

Each object keeps the VTIMEZONEs it needs and the calendar's X-WR-TIMEZONE, so that a Google
export means the same thing after upload.
"""

from __future__ import annotations


def split_by_uid(text: str) -> list[tuple[str, str]]:
    """(uid, object text) for every UID in `text`, overrides kept with their master."""
    from icalendar import Calendar

    cal = Calendar.from_ical(text.replace("\ufeff", ""))  # a BOM in front of an exported file
    zones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
    groups: dict[str, list[object]] = {}
    for comp in cal.subcomponents:
        if comp.name in ("VEVENT", "VTODO", "VJOURNAL"):
            groups.setdefault(str(comp.get("UID", "")), []).append(comp)
    out = []
    for uid, comps in groups.items():
        obj = Calendar()
        obj.add("PRODID", str(cal.get("PRODID", "-//blocktime//import//EN")))
        obj.add("VERSION", "2.0")
        if "X-WR-TIMEZONE" in cal:
            obj.add("X-WR-TIMEZONE", str(cal["X-WR-TIMEZONE"]))
        for z in zones:
            obj.add_component(z)
        for c in comps:
            obj.add_component(c)  # type: ignore[arg-type]
        out.append((uid, obj.to_ical().decode("utf-8")))
    return out
