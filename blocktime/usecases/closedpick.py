"""A pick that books nothing gets a courteous answer with what is open now. For an offer that is no
longer open: the open offer's options (with their prepared replies), or a fresh offer when minutes
remain and none is open, or a note that nothing remains. For an option that no longer fits
(`taken`): the offer's other options that still fit, else a fresh offer for the remainder. Sent to
the one who picked, once per message."""

from __future__ import annotations

import hashlib

from blocktime.core.model import Engagement
from blocktime.store.offers import StoredOffer
from blocktime.usecases.session import Session


def _why(session: Session, offer: StoredOffer, language: str) -> str:
    from blocktime.notes import moment
    from blocktime.notes.cases import after

    tz = session.config.organizer.timezone
    if offer.state == "replaced":
        return "newer times replaced these" if language == "en" else "zastąpiły go nowsze terminy"
    if offer.state == "expired" or offer.expires <= session.now:
        return (f"the time to answer ended {moment(offer.expires, tz, language)}" if language == "en"
                else f"czas na odpowiedź minął {after('w', moment(offer.expires, tz, language))}")
    if offer.state == "accepted":
        return (f"option {offer.chosen} was chosen and is booked" if language == "en"
                else f"wybrany i zarezerwowany został termin {offer.chosen}")
    return "the offer was withdrawn" if language == "en" else "propozycja została wycofana"


def _fitting(session: Session, eng: Engagement, offer: StoredOffer, picked: int) -> list[int]:
    """The offer's other options that still fit everything (checked like an acceptance)."""
    from blocktime.usecases.promises import refusals

    return [h.number for h in session.store.holds(offer.id) if h.number != picked
            and not refusals(session, eng, h.span, h.uid, besides=(offer.id,))[0]]


def _taken(session: Session, eng: Engagement, offer: StoredOffer, option: int, lang: str) -> tuple[str, str, str]:
    """(why, status, report) for a pick of an option that no longer fits."""
    from blocktime.notes import minutes, render
    from blocktime.usecases.offers import option_lines, release
    from blocktime.usecases.overlaps import replan

    why = ("that time is no longer available" if lang == "en"
           else "ten termin nie jest już dostępny")
    fitting = _fitting(session, eng, offer, option)
    if fitting:  # the options that no longer fit are released: they promise nothing any more
        unfit = [h.number for h in session.store.holds(offer.id) if h.number not in fitting]
        release(session, offer.id, unfit)
        status = render("pick_open", lang, options=option_lines(session, eng, offer, fitting))
        return why, status, f"options {', '.join(map(str, fitting))} of {offer.id} still fit"
    result = replan(session, offer)  # the fresh offer goes to every attendee in its own message
    remaining = minutes(session.store.remainder(eng.key), lang)
    fresh = result is not None and result.offer is not None
    status = render("pick_fresh" if fresh else "pick_later", lang, remaining=remaining)
    return why, status, f"{offer.id} re-planned as {result.offer.id if fresh and result else 'no new offer'}"


def answer_closed(session: Session, message_id: str, sender: str, offer: StoredOffer, option: int, *,
                  taken: bool = False) -> str:
    """Queue the answer to `sender`; returns the reason, in English, for the organizer's report.
    `taken`: the offer is open but option `option` no longer fits."""
    from blocktime.mail.imip import letter
    from blocktime.notes import minutes, moment, render, when
    from blocktime.notes.cases import after
    from blocktime.store.mailqueue import MailQueue, Queued, mail_key
    from blocktime.usecases.letters import addresses
    from blocktime.usecases.messages import _add
    from blocktime.usecases.offers import load_engagement, option_lines, reoffer

    ref = f"pick-{offer.id}-" + hashlib.sha256(message_id.encode()).hexdigest()[:16]  # history finds it by offer
    key = mail_key("pickclosed", ref, 0, sender)
    queue = MailQueue(session.store)
    if queue.known(key):  # a retry after a crash: answered (and re-planned) once already
        return f"offer {offer.id}: this pick was answered before"
    eng = load_engagement(session, offer.engagement)
    lang, tz = eng.language, session.config.organizer.timezone
    hold = next((h for h in session.store.holds(offer.id, ("pending", "held", "released")) if h.number == option),
                None)
    picked = (lambda w: f"{w['date']}, {w['start']}–{w['end']}")(when(hold.span.start, hold.span.end, tz, lang)) \
        if hold else f"{option}"
    open_now = session.store.offers(eng.key)
    remaining = session.store.remainder(eng.key)
    report = ""
    if taken:
        why, status, report = _taken(session, eng, offer, option, lang)
    elif open_now:
        status = render("pick_open", lang, options=option_lines(session, eng, open_now[0]))
    elif remaining > 0 and session.store.terms(eng.key)[1] is None:
        fresh = reoffer(session, eng.key)  # the fresh offer goes to every attendee in its own message
        status = render("pick_fresh" if fresh.offer else "pick_later", lang, remaining=minutes(remaining, lang))
    else:
        booked = session.store.block(offer.makeup_uid) if offer.makeup_uid else None
        when_booked = moment(booked.block.span.start, tz, lang) if booked else ""
        note = (f"the make-up session is booked for {when_booked}." if lang == "en"
                else f"sesja uzupełniająca jest umówiona {after('na', when_booked)}.") if booked else ""
        status = render("pick_none", lang, booked=note).strip()
    if not taken:
        why = _why(session, offer, lang)
    text = render("mail_pick_closed", lang, client=eng.client, picked=picked, why=why,
                  status=status.strip(), organizer=session.config.organizer.name)
    if not queue.known(key):
        from blocktime.mail.imip import compose

        body = letter(text, lang)
        data = compose(body, who=addresses(session), recipient=sender, key=key, stamp=session.now)
        with session.store.transaction():
            _add(session, queue, Queued(key, ref, "pickclosed", 0, sender, body.subject, data, session.now))
    if taken:
        return report
    return f"offer {offer.id} is {offer.state}" + (f" (replaced by {offer.replaced_by})" if offer.replaced_by else "")
