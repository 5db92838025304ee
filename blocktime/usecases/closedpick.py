"""A pick for an offer that is no longer open gets a courteous answer with what is open now: the
open offer's options (with their prepared replies), or a fresh offer when minutes remain and none
is open, or a note that nothing remains. Sent to the one who picked, once per message."""

from __future__ import annotations

import hashlib

from blocktime.store.offers import StoredOffer
from blocktime.usecases.session import Session


def _why(session: Session, offer: StoredOffer, language: str) -> str:
    from blocktime.notes import moment

    tz = session.config.organizer.timezone
    if offer.state == "replaced":
        return "newer times replaced these" if language == "en" else "zastąpiły go nowsze terminy"
    if offer.state == "expired" or offer.expires <= session.now:
        return (f"the time to answer ended {moment(offer.expires, tz, language)}" if language == "en"
                else f"czas na odpowiedź minął {moment(offer.expires, tz, language)}")
    if offer.state == "accepted":
        return (f"option {offer.chosen} was chosen and is booked" if language == "en"
                else f"wybrany i zarezerwowany został termin {offer.chosen}")
    return "the offer was withdrawn" if language == "en" else "propozycja została wycofana"


def answer_closed(session: Session, message_id: str, sender: str, offer: StoredOffer, option: int) -> str:
    """Queue the answer to `sender`; returns the reason, in English, for the organizer's report."""
    from blocktime.mail.imip import letter
    from blocktime.notes import minutes, moment, render, when
    from blocktime.store.mailqueue import MailQueue, Queued, mail_key
    from blocktime.usecases.letters import addresses
    from blocktime.usecases.messages import _add
    from blocktime.usecases.offers import load_engagement, option_lines, reoffer

    eng = load_engagement(session, offer.engagement)
    lang, tz = eng.language, session.config.organizer.timezone
    hold = next((h for h in session.store.holds(offer.id, ("pending", "held", "released")) if h.number == option),
                None)
    picked = (lambda w: f"{w['date']}, {w['start']}–{w['end']}")(when(hold.span.start, hold.span.end, tz, lang)) \
        if hold else f"{option}"
    open_now = session.store.offers(eng.key)
    remaining = session.store.remainder(eng.key)
    if open_now:
        status = render("pick_open", lang, options=option_lines(session, eng, open_now[0]))
    elif remaining > 0:
        fresh = reoffer(session, eng.key)  # the fresh offer goes to every attendee in its own message
        status = render("pick_fresh" if fresh.offer else "pick_later", lang, remaining=minutes(remaining, lang))
    else:
        booked = session.store.block(offer.makeup_uid) if offer.makeup_uid else None
        when_booked = moment(booked.block.span.start, tz, lang) if booked else ""
        note = (f"the make-up session is booked for {when_booked}." if lang == "en"
                else f"sesja uzupełniająca jest umówiona na {when_booked}.") if booked else ""
        status = render("pick_none", lang, booked=note).strip()
    text = render("mail_pick_closed", lang, client=eng.client, picked=picked, why=_why(session, offer, lang),
                  status=status.strip(), organizer=session.config.organizer.name)
    ref = "pick-" + hashlib.sha256(message_id.encode()).hexdigest()[:16]
    key = mail_key("pickclosed", ref, 0, sender)
    queue = MailQueue(session.store)
    if not queue.known(key):
        from blocktime.mail.imip import compose

        body = letter(text, lang)
        data = compose(body, who=addresses(session), recipient=sender, key=key, stamp=session.now)
        with session.store.transaction():
            _add(session, queue, Queued(key, ref, "pickclosed", 0, sender, body.subject, data, session.now))
    return f"offer {offer.id} is {offer.state}" + (f" (replaced by {offer.replaced_by})" if offer.replaced_by else "")
