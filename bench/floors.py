"""Floor scripts for bench/large.py: only the unavoidable work of each command, as a plain process.

Python + niquests + icalendar and nothing of blocktime. Every floor gets the calendar URLs it needs
on the command line (discovery is not part of the floor).

    floors.py book URL USER PASSWORD COUNT START            # COUNT PUTs (icalendar-built bodies)
    floors.py book-parallel URL USER PASSWORD COUNT START   # the same bodies built first, then PUT
                                                            # by 4 threads (a reference, not a floor:
                                                            # what parallel writes can win at most)
    floors.py read-book USER PASSWORD START END COUNT URL... # one time-range REPORT per calendar
                                                            # (each object parsed with icalendar),
                                                            # then COUNT PUTs into the first URL
    floors.py sync USER PASSWORD TOKENS URL...              # one sync REPORT per calendar; TOKENS
                                                            # is a JSON file: read if it exists (quiet
                                                            # pass), else written (first pass)
"""

from __future__ import annotations

import json
import os
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta

import niquests

D, C = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"

QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""

SYNC = """<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:sync-token>{token}</D:sync-token>
  <D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
</D:sync-collection>"""


def puts(s: niquests.Session, url: str, count: int, start: datetime) -> None:
    for uid, body in bodies(count, start):
        put(s, url, uid, body)


def put(s: niquests.Session, url: str, uid: str, body: bytes) -> None:
    r = s.put(url.rstrip("/") + f"/{uid}.ics", data=body,
              headers={"If-None-Match": "*", "Content-Type": "text/calendar; charset=utf-8"})
    assert r.status_code in (200, 201, 204), r.status_code


def bodies(count: int, start: datetime) -> Iterator[tuple[str, bytes]]:
    import icalendar

    for k in range(count):
        day = start + timedelta(days=k + 2 * (k // 5))  # Mon–Fri
        cal = icalendar.Calendar()
        cal.add("prodid", "-//floor//EN")
        cal.add("version", "2.0")
        ev = icalendar.Event()
        uid = str(uuid.uuid4())
        ev.add("uid", uid)
        ev.add("dtstamp", start)
        ev.add("dtstart", day)
        ev.add("dtend", day + timedelta(hours=1))
        ev.add("summary", f"Training block {k + 1}")
        ev.add("location", "HQ")
        cal.add_component(ev)
        yield uid, cal.to_ical()


def responses(body: bytes) -> list[tuple[str, str]]:
    root = ET.fromstring(body)
    out = []
    for resp in root.iter(D + "response"):
        data = resp.find(f".//{C}calendar-data")
        href = resp.findtext(D + "href") or ""
        out.append((href, data.text or "" if data is not None else ""))
    return out


def main() -> None:
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "book":
        url, user, pw, count, start = rest
        with niquests.Session() as s:
            s.auth = (user, pw)
            puts(s, url, int(count), datetime.fromisoformat(start))
    elif cmd == "book-parallel":
        from concurrent.futures import ThreadPoolExecutor

        url, user, pw, count, start = rest
        ready = list(bodies(int(count), datetime.fromisoformat(start)))
        with niquests.Session() as s, ThreadPoolExecutor(4) as pool:
            s.auth = (user, pw)
            list(pool.map(lambda ub: put(s, url, *ub), ready))
    elif cmd == "read-book":
        import icalendar

        user, pw, start, end, count, *urls = rest
        with niquests.Session() as s:
            s.auth = (user, pw)
            n = 0
            for url in urls:
                r = s.request("REPORT", url, data=QUERY.format(start=start, end=end),
                              headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
                assert r.status_code == 207, r.status_code
                for _href, text in responses(r.content or b""):
                    icalendar.Calendar.from_ical(text)
                    n += 1
            if int(count):
                puts(s, urls[0], int(count), datetime.fromisoformat(start[:8]) + timedelta(hours=10))
    elif cmd == "sync":
        user, pw, tokens_file, *urls = rest
        tokens: dict[str, str] = {}
        if os.path.exists(tokens_file):
            with open(tokens_file) as f:
                tokens = json.load(f)
        new: dict[str, str] = {}
        with niquests.Session() as s:
            s.auth = (user, pw)
            for url in urls:
                r = s.request("REPORT", url, data=SYNC.format(token=tokens.get(url, "")),
                              headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
                assert r.status_code == 207, r.status_code
                objects = dict(responses(r.content or b""))
                new[url] = ET.fromstring(r.content or b"").findtext(D + "sync-token") or ""
                _ = objects
        if not tokens:
            with open(tokens_file, "w") as f:
                json.dump(new, f)
    else:
        raise SystemExit(f"unknown floor {cmd!r}")


if __name__ == "__main__":
    main()
