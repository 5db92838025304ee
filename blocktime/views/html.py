"""The week as one self-contained HTML page: inline CSS, no scripts, no network resources.

Each day has a time track (drawn, hidden from screen readers) and a list that says the same in
words (read aloud, printed, and what a phone shows first). Kinds differ by shape as well as
colour (solid, hatched, dashed), and every colour pair keeps a contrast of at least 4.5:1.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape

from blocktime.views.week import Day, Item, Week, clip, describe, fraction, hm

CSS = """
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 1rem auto; max-width: 70rem; padding: 0 1rem; color: #111; background: #fff; line-height: 1.4; }
h1 { font-size: 1.4rem; margin: 0; } header p { margin: .2rem 0 1rem; color: #333; }
.legend ul { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; list-style: none; padding: 0; margin: 0 0 1rem; }
.legend li { display: flex; align-items: center; gap: .4rem; }
.sw { display: inline-block; width: 1.6rem; height: 1rem; border-radius: 3px; }
.axis, .track { position: relative; margin-left: 7.5rem; }
.axis { height: 1.2rem; font-size: .75rem; color: #333; }
.axis span { position: absolute; transform: translateX(-50%); }
.axis span:first-child { transform: none; } .axis span:last-child { transform: translateX(-100%); }
.day { border-top: 1px solid #c8ccd2; padding: .4rem 0; }
.day h2 { font-size: .95rem; margin: 0; float: left; width: 7rem; }
.track { height: 2.4rem; background: #fff; border: 1px solid #c8ccd2; border-radius: 4px; }
.hours { position: absolute; top: 0; bottom: 0; background: #eef2f7; }
.it { position: absolute; top: 3px; bottom: 3px; border-radius: 3px; overflow: hidden; white-space: nowrap;
      text-overflow: ellipsis; font-size: .75rem; padding: 0 .25rem; box-sizing: border-box; line-height: 2rem; }
.block, .sw.block, .delivered { background: #1550a8; color: #fff; }
.makeup, .sw.makeup { background: #0b6b5d; color: #fff; }
.busy, .sw.busy { background: #d5d9df repeating-linear-gradient(135deg, transparent 0 6px, #c2c7cf 6px 8px);
                  color: #222; }
.hold, .sw.hold { background: #fff4d6; border: 2px dashed #7a4f00; color: #4d3200; }
.cut { display: flex; padding: 0; }
.cut .delivered { padding: 0 .25rem; overflow: hidden; text-overflow: ellipsis; }
.lost, .sw.lost { background: #fde8e6 repeating-linear-gradient(45deg, transparent 0 5px, #b42318 5px 7px);
                  color: #7a1109; border: 2px solid #b42318; box-sizing: border-box; }
.cut .lost { flex: 1; }
.block, .makeup { display: flex; justify-content: space-between; gap: .25rem; }
.it .t { overflow: hidden; text-overflow: ellipsis; } .it b { flex: none; }
.lost b { background: #fff; color: #7a1109; padding: 0 2px; font-weight: 600; }
.now { position: absolute; top: -3px; bottom: -3px; width: 2px; background: #b42318; }
ul.items { list-style: none; margin: .3rem 0 .2rem 7.5rem; padding: 0; font-size: .9rem; }
ul.items li { display: flex; gap: .5rem; align-items: baseline; }
ul.items .sw { flex: none; height: .8rem; width: 1.2rem; }
.notes { color: #7a1109; }
@media (max-width: 40rem) {
  .axis, .track, ul.items { margin-left: 0; } .day h2 { float: none; }
  .it { font-size: 0; } .axis span:nth-child(even) { display: none; }
}
@media print {
  body { max-width: none; margin: 0; } * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .day { break-inside: avoid; }
}
"""

LEGEND = (("block", "block, ends at its hard end"), ("makeup", "make-up block"),
          ("delivered", "cut short: part delivered"), ("lost", "cut short: part lost"),
          ("hold", "hold, awaiting the client's answer"), ("busy", "other busy time"))


def render(week: Week) -> str:
    """The page as text (UTF-8)."""
    sunday = week.monday + timedelta(days=6)
    title = f"Week {week.label}"
    sub = (f"{week.monday:%a %d %b} – {sunday:%a %d %b %Y} · times in {week.tz.key} · "
           f"as of {week.now.astimezone(week.tz):%a %d %b %H:%M}")
    # lang: the page's words are English (the organizer's language shows only in relative times)
    out = ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(title)} — blocktime</title>", f"<style>{CSS}</style>", "</head>", "<body>",
           f"<header><h1>{escape(title)}</h1><p>{escape(sub)}</p></header>",
           '<section class="legend" aria-label="Legend"><ul>']
    out += [f'<li><span class="sw {k}" aria-hidden="true"></span>{escape(text)}</li>' for k, text in LEGEND]
    out.append("</ul></section>")
    if week.notes:
        out.append('<p class="notes" role="note">' + "<br>".join(escape(n) for n in week.notes) + "</p>")
    lo, hi = week.axis
    out.append('<main><div class="axis" aria-hidden="true">')
    out += [f'<span style="left:{100 * (h - lo) / (hi - lo):.3f}%">{h:02d}:00</span>' for h in range(lo, hi + 1)]
    out.append("</div>")
    for day in week.days:
        out += _day(day, week)
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _pos(a: float, b: float) -> str:
    return f"left:{100 * a:.3f}%;width:{max(0.4, 100 * (b - a)):.3f}%"


def _day(day: Day, week: Week) -> list[str]:
    ident = f"d{day.day:%Y%m%d}"
    out = [f'<section class="day" aria-labelledby="{ident}"><h2 id="{ident}">{day.day:%a %d %b}</h2>',
           '<div class="track" aria-hidden="true">']
    for span in day.hours:
        out.append(f'<div class="hours" style="{_pos(fraction(span.start, day, week), fraction(span.end, day, week))}">'
                   "</div>")
    for kind in ("busy", "hold", "block", "makeup", "cut"):
        out += [_bar(i, day, week) for i in day.items if i.kind == kind]
    if week.now.astimezone(week.tz).date() == day.day:
        out.append(f'<div class="now" style="left:{100 * fraction(week.now, day, week):.3f}%"></div>')
    out.append("</div>")
    if day.items:
        out.append('<ul class="items">')
        out += [f'<li class="{i.kind}-line"><span class="sw {_swatch(i)}" aria-hidden="true"></span>'
                f"<span>{escape(describe(i, week))}</span></li>" for i in day.items]
        out.append("</ul>")
    out.append("</section>")
    return out


def _swatch(i: Item) -> str:
    return "lost" if i.kind == "cut" else i.kind


def _bar(i: Item, day: Day, week: Week) -> str:
    a, b = clip(i, day, week)
    tip = escape(describe(i, week), quote=True)
    if i.kind == "cut" and i.ended is not None:
        whole = (i.span.end - i.span.start).total_seconds() or 1.0
        done = 100 * (i.ended - i.span.start).total_seconds() / whole
        return (f'<div class="it cut" style="{_pos(a, b)}" title="{tip}">'
                f'<span class="delivered" style="width:{done:.3f}%">{escape(i.title)}</span>'
                f'<span class="lost"><b>lost</b></span></div>')
    if i.kind in ("block", "makeup"):  # the hard end sits at the bar's right edge
        inner = f'<span class="t">{escape(i.title)}</span><b>{hm(i.hard_end, week.tz)}</b>'
    elif i.kind == "hold":
        inner = f"#{i.option}"
    else:
        inner = escape(i.title)
    return f'<div class="it {i.kind}" style="{_pos(a, b)}" title="{tip}">{inner}</div>'
