"""Hypothesis strategies for damaged real-world files: the sample calendars, replies and mails
with lines truncated, swapped, dropped or doubled, garbage parameters, huge values, bad dates and
bad recurrence rules. Used by tests/*/test_fuzz_*.py."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

SAMPLES = Path(__file__).resolve().parents[1] / "sample_ics"
CALENDARS = {p.name: p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.ics"))}
REPLIES = {p.name: p.read_bytes() for p in sorted((SAMPLES / "replies").iterdir())}

BAD_RULES = [
    "FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=1", "FREQ=HOURLY", "FREQ=HOURLY;INTERVAL=2;BYHOUR=5",
    "FREQ=DAILY;BYSETPOS=5", "FREQ=DAILY;INTERVAL=7;BYDAY=TU", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=WEEKLY;INTERVAL=0",
    "FREQ=WEEKLY;INTERVAL=-3", "FREQ=DAILY;COUNT=-1", "FREQ=DAILY;COUNT=99999999999999999999",
    "FREQ=DAILY;UNTIL=20261345T250000Z", "FREQ=DAILY;UNTIL=2026", "FREQ=DAILY;UNTIL=20200101", "FREQ=NEVER",
    "FREQ=WEEKLY;BYDAY=XX", "FREQ=WEEKLY;BYDAY=99MO", "FREQ=MONTHLY;BYDAY=1MO;BYSETPOS=0",
    "FREQ=YEARLY;BYWEEKNO=54", "FREQ=YEARLY;BYYEARDAY=367", "FREQ=DAILY;BYHOUR=25", "FREQ=DAILY;BYMINUTE=0,,1",
    "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=" + ",".join(map(str, range(60))),
    "", ";;;", "FREQ=DAILY;FREQ=WEEKLY", "FREQ=DAILY;WKST=XX", "FREQ=YEARLY;BYEASTER=0", "COUNT=3",
]
BAD_DATES = [
    "20261345T250000", "20260230T120000", "00000000T000000Z", "99991231T235959Z", "00010101T000000",
    "2026-03-24T12:00:00", "20260324", "20260324T", "20260324T1200", "20260324T120000ZZ", "-20260324T120000",
    "20260324T120000+0100", "99999999999999999", "", "tomorrow",
]
BAD_PARAMS = [
    ";TZID=Nowhere/Land", ";TZID=", ";VALUE=DATE", ";VALUE=PERIOD", ";VALUE=BINARY", ";TZID=\"Europe/Warsaw",
    ";X-FOO=\"\\\"\"", ";;", ";=x", ";PARTSTAT=", ";PARTSTAT=ACCEPTED;PARTSTAT=DECLINED", ";CN=\"a:b;c\"",
    ";RANGE=THISANDFUTURE", ";ENCODING=BASE64", ";CHARSET=x-unknown", ";RELATED=END", ";X-" + "A" * 5000 + "=1",
]
HUGE = [
    "9" * 5000, "P99999999W", "-P1D", "PT0S", "P1Y", "99999999999999999999", "A" * 100_000, "\\" * 1000,
    "&#x1F600;" * 100, "\x00\x01\x02", "\ud800", "ä" * 3000, "MAILTO:" + "a" * 3000 + "@x",
]
PROPS = ["DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "UID", "SEQUENCE",
         "DTSTAMP", "ATTENDEE", "ORGANIZER", "STATUS", "TRANSP", "METHOD", "TZID", "TZOFFSETFROM",
         "TZOFFSETTO", "BEGIN", "END", "X-WR-TIMEZONE", "COMMENT", "SUMMARY", "LOCATION"]

_values = st.one_of(
    st.sampled_from(BAD_RULES), st.sampled_from(BAD_DATES), st.sampled_from(HUGE),
    st.text(max_size=40), st.sampled_from(["VEVENT", "VCALENDAR", "VTIMEZONE", "VALARM", "DAYLIGHT", "X"]),
)


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, float, float, str]:
    """(kind, where, where2, payload): positions as fractions, applied by `mutate`."""
    kind = draw(st.sampled_from(["truncate", "drop", "swap", "double", "insert", "value", "param",
                                 "rule", "date", "fold", "case", "crlf"]))
    where = draw(st.floats(0, 1, exclude_max=True))
    where2 = draw(st.floats(0, 1, exclude_max=True))
    if kind == "insert":
        name = draw(st.sampled_from(PROPS))
        payload = f"{name}{draw(st.sampled_from(['', *BAD_PARAMS]))}:{draw(_values)}"
    elif kind == "param":
        payload = draw(st.sampled_from(BAD_PARAMS))
    elif kind == "rule":
        payload = draw(st.sampled_from(BAD_RULES))
    elif kind == "date":
        payload = draw(st.sampled_from(BAD_DATES))
    else:
        payload = draw(_values)
    return kind, where, where2, payload


def mutate(text: str, mutations: list[tuple[str, float, float, str]]) -> str:
    """`text` with each mutation applied in turn (line-based, as damage in the wild usually is)."""
    for kind, where, where2, payload in mutations:
        lines = text.splitlines()
        if not lines:
            lines = [""]
        i, j = int(where * len(lines)), int(where2 * len(lines))
        line = lines[i]
        name, sep, value = line.partition(":")
        if kind == "truncate":
            text = text[: int(where * len(text))]
            continue
        if kind == "drop":
            del lines[i]
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "double":
            lines.insert(i, line)
        elif kind == "insert":
            lines.insert(i, payload)
        elif kind == "value" and sep:
            lines[i] = f"{name}:{payload}"
        elif kind == "param" and sep:
            lines[i] = f"{name}{payload}:{value}"
        elif kind == "rule":
            lines.insert(i, f"RRULE:{payload}")
        elif kind == "date":
            target = next((k for k in range(i, len(lines)) if lines[k].startswith(("DTSTART", "DTEND",
                                                                                   "RECURRENCE-ID", "EXDATE",
                                                                                   "RDATE", "DTSTAMP"))), i)
            head = lines[target].partition(":")[0] or "DTSTART"
            lines[target] = f"{head}:{payload}"
        elif kind == "fold":
            k = int(where2 * len(line))
            lines[i] = line[:k] + "\r\n " + line[k:]
        elif kind == "case":
            lines[i] = line.lower() if where2 < 0.5 else line.swapcase()
        elif kind == "crlf":
            lines[i] = line + ("\r" if where2 < 0.5 else "\n\n")
        text = "\r\n".join(lines) + "\r\n"
    return text


mutations = st.lists(mutation(), min_size=1, max_size=6)
