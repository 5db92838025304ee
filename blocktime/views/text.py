"""The week in the terminal: one row per day on a time axis (a character per quarter hour), then
each day's items in words. Shapes differ by kind, so the picture reads without colour too."""

from __future__ import annotations

from datetime import timedelta

from blocktime.views.week import Day, Week, clip, describe, fraction

#: kind -> (unicode mark, ascii mark, legend)
MARKS = {
    "busy": ("▒", ":", "busy"),
    "hold": ("░", "?", "hold (awaiting the client's answer)"),
    "block": ("█", "#", "block (ends at its hard end)"),
    "makeup": ("▓", "M", "make-up block"),
    "cut": ("█", "#", ""),
    "lost": ("╳", "x", "lost part of a cut-short block"),
    "free": ("·", ".", "working hours, free"),
}
SLOT = 4  # characters per hour


def render(week: Week, *, unicode: bool = True) -> str:
    """The whole picture as text (no colour, no escape sequences: it can go to a file or a pager)."""
    pick = 0 if unicode else 1
    lo, hi = week.axis
    width = (hi - lo) * SLOT
    sunday = week.monday + timedelta(days=6)
    lines = [f"Week {week.label}: {week.monday:%a %d %b} – {sunday:%a %d %b %Y} ({week.tz.key}), "
             f"now {week.now.astimezone(week.tz):%a %d %b %H:%M}"]
    axis = "".join(f"{h:02d}".ljust(SLOT) for h in range(lo, hi))
    lines.append(f"{'':11}{axis}{hi:02d}")
    for day in week.days:
        lines.append(f"{day.day:%a %d %b} {_row(day, week, width, pick)}".rstrip())
    lines.append("")
    lines.append("  ".join(f"{m[pick]} {m[2]}" for k, m in MARKS.items() if m[2]))
    for day in week.days:
        if not day.items:
            continue
        lines.append("")
        lines.append(f"{day.day:%A %d %B}")
        for item in day.items:
            mark = MARKS["lost" if item.kind == "cut" else item.kind][pick]
            lines.append(f"  {mark} {describe(item, week)}")
    if not any(d.items for d in week.days):
        lines.append("")
        lines.append("nothing booked, held or busy this week")
    lines += [f"note: {n}" for n in week.notes]
    out = "\n".join(lines)
    return out if unicode else out.replace("–", "-").encode("ascii", "replace").decode()


def _row(day: Day, week: Week, width: int, pick: int) -> str:
    cells = [" "] * width

    def paint(a: float, b: float, mark: str) -> None:
        first, last = round(a * width), round(b * width)
        if last == first and b > a:  # too short for a cell: still visible
            last = min(width, first + 1)
        for i in range(max(0, first), min(width, last)):
            cells[i] = mark

    for span in day.hours:
        paint(fraction(span.start, day, week), fraction(span.end, day, week), MARKS["free"][pick])
    for kind in ("busy", "hold", "block", "makeup", "cut"):
        for item in (i for i in day.items if i.kind == kind):
            a, b = clip(item, day, week)
            if kind == "cut" and item.ended is not None:
                mid = fraction(item.ended, day, week)
                paint(a, mid, MARKS["cut"][pick])
                paint(mid, b, MARKS["lost"][pick])
            else:
                paint(a, b, MARKS[kind][pick])
    return "".join(cells)
