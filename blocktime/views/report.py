"""The report's renderings: a table for the terminal, CSV for a spreadsheet (fixed columns, UTF-8,
a header row), JSON, and one self-contained HTML page with a bar per period. Each states its
rounding: minutes are exact, hours are minutes / 60 rounded to two decimals."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any

from blocktime.core.books import Books
from blocktime.usecases.report import Row, totals

COLUMNS = ("client", "engagement", "period", "blocks", "planned_min", "delivered_min", "lost_min", "made_up_min",
           "remaining_min", "planned_h", "delivered_h", "lost_h", "made_up_h", "remaining_h")
ROUNDING = "minutes are exact; hours are minutes / 60, rounded to 2 decimals"
FIGURES = ("planned", "delivered", "lost", "made_up", "remaining")


def hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}"


def _figures(b: Books) -> list[int]:
    return [b.planned, b.delivered, b.lost, b.made_up, b.remaining]


def cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: one that starts like a formula gets a leading `'`
    (OWASP "CSV injection")."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for r in rows:
        figures = _figures(r.books)
        w.writerow([cell(r.client), cell(r.engagement), r.period, r.books.blocks, *figures,
                    *(hours(m) for m in figures)])
    return out.getvalue()


def as_json(rows: list[Row]) -> dict[str, Any]:
    def doc(b: Books) -> dict[str, Any]:
        return {"blocks": b.blocks, **{f"{k}_min": m for k, m in zip(FIGURES, _figures(b), strict=True)},
                **{f"{k}_h": hours(m) for k, m in zip(FIGURES, _figures(b), strict=True)}}

    return {"rounding": ROUNDING, "rows": [{"client": r.client, "engagement": r.engagement, "period": r.period,
                                            **doc(r.books)} for r in rows], "total": doc(totals(rows))}


def as_table(rows: list[Row]) -> str:
    head = ["client", "engagement", "period", "blocks", "planned h", "delivered h", "lost h", "made up h",
            "remaining h"]
    body = [[r.client, r.engagement, r.period, str(r.books.blocks), *(hours(m) for m in _figures(r.books))]
            for r in rows]
    t = totals(rows)
    body.append(["total", "", "", str(t.blocks), *(hours(m) for m in _figures(t))])
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths, strict=True)))
             for x in [head, *body]]
    return "\n".join([*lines, f"({ROUNDING})"])


CSS = """
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 1rem auto; max-width: 60rem; padding: 0 1rem; color: #111; background: #fff; }
h1 { font-size: 1.4rem; } table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: right; padding: .25rem .5rem; border-bottom: 1px solid #c8ccd2; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
.bars { list-style: none; padding: 0; } .bars li { margin: .6rem 0; }
.bar { display: flex; height: 1.2rem; border: 1px solid #c8ccd2; border-radius: 3px; overflow: hidden; }
.delivered { background: #1550a8; } .lost { background: #b42318; } .made_up { background: #0b6b5d; }
.sw { display: inline-block; width: 1rem; height: .8rem; vertical-align: middle; margin: 0 .3rem 0 1rem; }
@media print { body { max-width: none; } }
"""


def as_html(rows: list[Row], title: str) -> str:
    """One self-contained page: the table, and a bar per period (delivered, lost, made up)."""
    widest = max([r.books.delivered + r.books.lost for r in rows] or [1]) or 1  # made up is inside delivered
    legend = "".join(f'<span class="sw {k}" aria-hidden="true"></span>{k.replace("_", " ")}'
                     for k in ("delivered", "lost", "made_up"))
    bars = []
    for r in rows:
        parts = "".join(f'<span class="{k}" style="width:{100 * m / widest:.2f}%"></span>'
                        for k, m in (("delivered", r.books.delivered - r.books.made_up), ("made_up", r.books.made_up),
                                     ("lost", r.books.lost)) if m)
        words = (f"{escape(r.client)}, {escape(r.period)}: delivered {hours(r.books.delivered)} h, lost "
                 f"{hours(r.books.lost)} h, made up {hours(r.books.made_up)} h")
        bars.append(f'<li><div>{words}</div><div class="bar" aria-hidden="true">{parts}</div></li>')
    head = "".join(f"<th>{escape(c)}</th>" for c in ("client", "engagement", "period", "blocks", "planned h",
                                                      "delivered h", "lost h", "made up h", "remaining h"))
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in (
        r.client, r.engagement, r.period, r.books.blocks, *(hours(m) for m in _figures(r.books)))) + "</tr>"
        for r in rows)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
            f'<body><h1>{escape(title)}</h1><p>{legend}</p><ul class="bars">{"".join(bars)}</ul>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<p><small>{escape(ROUNDING)}</small></p></body></html>\n")
