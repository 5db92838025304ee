"""Polish after a preposition: a date's weekday in the case the preposition governs.

Babel's full date is `środa, 25 marca 2026`: its month is already the genitive the date needs
(CLDR's format-context month names), but its weekday is the nominative, and CLDR has no other
case. After a preposition the weekday must follow it: `do środy` (genitive), `w środę`, `na środę`
(accusative), `przed środą` (instrumental), `po środzie` (locative); `w` is `we` before `wtorek`.

A template says `do $expires`; `render` hands each placeholder that follows one of these
prepositions to `governed`, which turns a value that begins with a weekday into the right case.

>>> after("do", "niedziela, 21 marca 2027")
'do niedzieli, 21 marca 2027'
>>> after("w", "wtorek, 24 marca 2026, 12:00"), after("We", "środa, 25 marca 2026")
('we wtorek, 24 marca 2026, 12:00', 'W środę, 25 marca 2026')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from string import Template

GENITIVE, ACCUSATIVE, INSTRUMENTAL, LOCATIVE = range(4)

#: the case each preposition governs before a day (do/od: until/from; w/na: on/for; przed/po: before/after)
GOVERNS = {"do": GENITIVE, "od": GENITIVE, "w": ACCUSATIVE, "we": ACCUSATIVE, "na": ACCUSATIVE,
           "przed": INSTRUMENTAL, "po": LOCATIVE}

#: CLDR's weekday (nominative, format context) -> its genitive, accusative, instrumental, locative
WEEKDAYS: dict[str, tuple[str, str, str, str]] = {
    "poniedziałek": ("poniedziałku", "poniedziałek", "poniedziałkiem", "poniedziałku"),
    "wtorek": ("wtorku", "wtorek", "wtorkiem", "wtorku"),
    "środa": ("środy", "środę", "środą", "środzie"),
    "czwartek": ("czwartku", "czwartek", "czwartkiem", "czwartku"),
    "piątek": ("piątku", "piątek", "piątkiem", "piątku"),
    "sobota": ("soboty", "sobotę", "sobotą", "sobocie"),
    "niedziela": ("niedzieli", "niedzielę", "niedzielą", "niedzieli"),
}

_DAY = re.compile(r"(" + "|".join(WEEKDAYS) + r")(?!\w)", re.I)
# a preposition right before a placeholder: `do $expires`, `W ${date}` (not `$$`, not inside a word)
_BEFORE = re.compile(r"(?<![\w$])(" + "|".join(GOVERNS) + r")([ \t]+)\$(?:(\w+)|\{(\w+)\})", re.I)


def after(preposition: str, phrase: str) -> str:
    """`preposition phrase`, with a leading weekday in the case the preposition governs (and `w`
    or `we` as the weekday wants). Any other phrase (a time, a place) is left as it is."""
    m = _DAY.match(phrase)
    case = GOVERNS.get(preposition.lower())
    if m is None or case is None:
        return f"{preposition} {phrase}"
    word = WEEKDAYS[m.group(1).lower()][case]
    if m.group(1)[0].isupper():
        word = word[0].upper() + word[1:]
    if preposition.lower() in ("w", "we"):  # `we` before w + consonant (we wtorek), else `w`
        wanted = "we" if re.match(r"[wf][^aąeęioóuy]", word, re.I) else "w"
        preposition = wanted.capitalize() if preposition[0].isupper() else wanted
    return f"{preposition} {word}{phrase[m.end():]}"


def governed(template: Template, values: Mapping[str, str]) -> tuple[Template, dict[str, str]]:
    """The template and values with every `preposition $placeholder` filled as `after` says."""
    rewritten, spots = _spots(template.template)
    if not spots or any(name not in values for _key, _prep, name in spots):
        return template, dict(values)  # nothing to do, or a broken own template: its own error shows
    filled = dict(values)
    for key, prep, name in spots:
        filled[key] = after(prep, values[name])
    return rewritten, filled


@lru_cache(maxsize=256)
def _spots(text: str) -> tuple[Template, tuple[tuple[str, str, str], ...]]:
    """`do $expires` -> `${_after_0}`, remembering (`_after_0`, `do`, `expires`)."""
    spots: list[tuple[str, str, str]] = []

    def mark(m: re.Match[str]) -> str:
        key = f"_after_{len(spots)}"
        spots.append((key, m.group(1), m.group(3) or m.group(4)))
        return "${" + key + "}"

    return Template(_BEFORE.sub(mark, text)), tuple(spots)
