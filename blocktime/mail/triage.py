"""What to do with one received message: a pure decision, no I/O (the use case is `answers`).

- an option pick: a valid pick token (see `picks`) in the subject names offer and option; or a
  valid token anywhere in the message proves which offer the sender saw and the first line names
  the option ("2", "Option 2", "Termin 2 pasuje"). Only from an attendee of that engagement.
- an attendee's iTIP REPLY or COUNTER (a calendar part): recorded as `import-reply` does.
- everything else from an attendee, or about an offer: kept for the organizer. Never a guess:
  two options named, a token of another offer, a sender who is not an attendee -> kept.
- the rest (newsletters, unrelated mail, our own messages, auto-replies): ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from blocktime.mail.incoming import Incoming
from blocktime.mail.picks import found

PICK, ITIP, KEPT, IGNORED = "pick", "itip", "kept", "ignored"
_OPTION = re.compile(
    r"^\s*(?:(?:option|opcja|opcj[eę]|termin|wybieram|choice|nr\.?|number|no\.?)\s*)?#?\s*(\d{1,2})\b"
    r"(?!\s*(?::|\.\d|am\b|pm\b|h\b|o'clock|min|godz))", re.I)
_OFFER_SUBJECT = re.compile(r"\[(?:offer|propozycja)\s+\S+", re.I)


@dataclass(frozen=True, slots=True)
class Context:
    """What the store knows, as plain values: issued tokens, offers, attendees."""

    tokens: Mapping[str, tuple[str, int]]  # token -> (offer id, option number)
    offer_engagement: Mapping[str, str]  # offer id -> engagement key
    attendees: Mapping[str, frozenset[str]]  # engagement key -> lowercased addresses
    offer_mail: Mapping[str, str] = field(default_factory=dict)  # Message-ID of an offer mail -> offer id
    own: frozenset[str] = frozenset()  # the organizer's own addresses


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    offer: str | None = None
    option: int | None = None
    reason: str = ""


def named_option(line: str) -> int | None:
    """The option number a first line names ("2", "Option 2 works"), else None.

    >>> named_option("Option 2 works for us"), named_option("2"), named_option("2 pm is better")
    (2, 2, None)
    """
    m = _OPTION.match(line)
    return int(m.group(1)) if m else None


def _engagements_of(ctx: Context, sender: str) -> list[str]:
    return sorted(k for k, people in ctx.attendees.items() if sender in people)


def needs_body(ctx: Context, sender: str, subject: str, refs: tuple[str, ...]) -> bool:
    """Whether the message could matter (cheap, from headers): unrelated mail is never downloaded."""
    return (bool(_engagements_of(ctx, sender)) or bool(found(subject)) or bool(_OFFER_SUBJECT.search(subject))
            or any(r in ctx.offer_mail for r in refs))


def decide(msg: Incoming, ctx: Context) -> Decision:
    """The action for one message; `reason` says why in a line the organizer can read."""
    sender = msg.sender
    if not sender:
        return Decision(IGNORED, reason="no single sender address")
    if sender in ctx.own:
        return Decision(IGNORED, reason="sent by the organizer")
    mine = _engagements_of(ctx, sender)
    about = next((ctx.offer_mail[r] for r in msg.refs if r in ctx.offer_mail), None)
    if msg.automatic:
        return Decision(KEPT if mine else IGNORED, about, reason="an automatic message (auto-reply or bounce)")
    if msg.calendar is not None and re.search(r"^METHOD:\s*(REPLY|COUNTER)\s*$", msg.calendar, re.M | re.I):
        return Decision(ITIP, reason="an attendee's answer to an invitation")
    subject_picks = sorted({ctx.tokens[t] for t in found(msg.subject) if t in ctx.tokens})
    seen = {ctx.tokens[t][0] for t in found(msg.text) if t in ctx.tokens} | {o for o, _n in subject_picks}
    line = named_option(msg.first_line)
    if len(subject_picks) > 1:
        return Decision(KEPT, subject_picks[0][0], reason="the subject names several options")
    if subject_picks:
        offer, option = subject_picks[0]
        if line is not None and line != option:
            return Decision(KEPT, offer, reason=f"the subject picks option {option}, the first line option {line}")
    elif len(seen) == 1 and line is not None:
        offer, option = next(iter(seen)), line
    elif seen:
        what = "several offers" if len(seen) > 1 else "no option in its first line"
        return Decision(KEPT, sorted(seen)[0], reason=f"about an offer, but names {what}")
    elif _OFFER_SUBJECT.search(msg.subject) or found(msg.subject):
        return Decision(KEPT, about, reason="looks like a pick, but carries no valid token: nothing booked")
    elif mine or about:
        return Decision(KEPT, about, reason="a message from an attendee" if mine else "about an offer")
    else:
        return Decision(IGNORED, reason="not about any engagement")
    engagement = ctx.offer_engagement.get(offer)
    if engagement is None or sender not in ctx.attendees.get(engagement, frozenset()):
        return Decision(KEPT, offer, option, reason=f"{sender} is not an attendee of {engagement or offer}:"
                                                    " nothing booked")
    return Decision(PICK, offer, option, reason="an attendee picked an option")


@dataclass(frozen=True, slots=True)
class Handled:
    """One message and what the pass did with it (the `--json` shape of issue 13)."""

    message_id: str
    sender: str
    subject: str
    action: str  # accepted | reply | counter-accepted | kept | ignored
    offer: str | None = None
    option: int | None = None
    block: str | None = None
    reason: str = ""

    def json(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "from": self.sender, "subject": self.subject, "action": self.action,
                "offer": self.offer, "option": self.option, "block": self.block, "reason": self.reason or None}
