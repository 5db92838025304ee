"""A statement for the client's manager (`statement`): what was planned and delivered, the sessions
that ended early or did not take place (dates and minutes), what was made up, what is left and the
next sessions. Factual and courteous, in the engagement's language, as every note: no blame. It
waits in the outbox, held, until the organizer runs `outbox send`; never sent by itself."""

from __future__ import annotations

from dataclasses import dataclass, replace

from blocktime.errors import BadInput
from blocktime.store.blocks import StoredBlock
from blocktime.store.mailqueue import MailQueue
from blocktime.usecases.books import engagement_books
from blocktime.usecases.session import Session
from blocktime.usecases.terms import engagement_note

LINES = {
    "en": {"early": "Sessions that ended early: {items}.", "absent": "Sessions that did not take place: {items}.",
           "item": "{date} ({minutes} not delivered)", "made_up": "Made up so far: {minutes}.",
           "left": "Still to come: {minutes}.", "unbooked": "Not yet made up: {minutes}.",
           "none_left": "Nothing remains to be made up.",
           "next": "Next sessions: {items}.", "no_next": "No further sessions are booked at the moment."},
    "pl": {"early": "Sesje zakończone przed czasem: {items}.", "absent": "Sesje, które się nie odbyły: {items}.",
           "item": "{date} (niezrealizowane: {minutes})", "made_up": "Dotychczas uzupełniono: {minutes}.",
           "left": "Pozostało do przeprowadzenia: {minutes}.",
           "unbooked": "Pozostało do uzupełnienia: {minutes}.", "none_left": "Nie ma nic do uzupełnienia.",
           "next": "Najbliższe sesje: {items}.", "no_next": "Obecnie nie ma zaplanowanych kolejnych sesji."},
}


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    recipients: tuple[str, ...]
    keys: tuple[str, ...]


def statement(session: Session, key: str, *, to: tuple[str, ...] = (), language: str | None = None) -> Statement:
    """Compose the statement and keep it in the outbox, held, for every attendee (or `to`)."""
    from blocktime.notes import LANGUAGES, minutes, render, when
    from blocktime.usecases.messages import queue_note

    found = engagement_books(session, key)
    eng, b = found.engagement, found.books
    lang = language or eng.language
    if lang not in LANGUAGES:
        raise BadInput(f"--language {lang!r} is not one of {', '.join(LANGUAGES)}")
    tz, words = session.config.organizer.timezone, LINES[lang]
    blocks = sorted(found.blocks, key=lambda sb: sb.block.span.start)

    def day(sb: StoredBlock) -> str:
        w = when(sb.block.span.start, sb.planned_end, tz, lang)
        return f"{w['date']}, {w['start']}–{w['end']}"

    cut = [words["item"].format(date=day(sb), minutes=minutes(sb.remaining_min or 0, lang))
           for sb in blocks if sb.state == "cut_short"]
    absent = [words["item"].format(date=day(sb), minutes=minutes(sb.remaining_min or 0, lang))
              for sb in blocks if sb.state == "no_show"]
    upcoming = [day(sb) for sb in blocks if sb.state == "booked" and sb.block.span.start > session.now][:3]
    lines = {
        "early": " ".join(x for x in (words["early"].format(items="; ".join(cut)) if cut else "",
                                      words["absent"].format(items="; ".join(absent)) if absent else "") if x),
        "made_up": words["made_up"].format(minutes=minutes(b.made_up, lang)) if b.made_up else "",
        # with nothing booked ahead, "still to come" would read as a promise the next line takes back
        "left": words["left" if upcoming else "unbooked"].format(minutes=minutes(b.remaining, lang))
        if b.remaining > 0 else words["none_left"],
        "next": words["next"].format(items="; ".join(upcoming)) if upcoming else words["no_next"],
    }
    text = render("statement", lang, client=eng.client, organizer=session.config.organizer.name,
                  planned=minutes(b.planned, lang), blocks=str(b.blocks), delivered=minutes(b.delivered, lang),
                  **lines)
    text = "\n".join(line for i, line in enumerate(text.splitlines())
                     if line.strip() or i == 0 or text.splitlines()[i - 1].strip()) + "\n"
    recipients = to or eng.attendees
    earlier = sum(1 for _, kind, _d in session.store.history(eng.key) if kind == "statement")
    ref = f"statement-{eng.key}-{earlier + 1}"  # each statement its own message, also twice in a minute
    queue = MailQueue(session.store)
    with session.store.transaction():
        for q in queue.waiting():  # a new statement replaces one not sent yet (a draft, or the other language)
            if engagement_note(eng.key, q.ref) and q.ref.startswith("statement-") \
                    and q.recipient.lower() in {r.lower() for r in recipients}:
                queue.withdraw(q.key)
        keys = queue_note(session, replace(eng, attendees=recipients, language=lang), "statement", ref, text)
        queue.hold(keys)
        session.store.log(eng.key, session.now, "statement", to=list(recipients), language=lang)
    return Statement(text, tuple(recipients), tuple(keys))
