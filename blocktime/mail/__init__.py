"""Mail: iMIP out (`imip`: letters laid out for Gmail and Outlook, sent over SMTP) and mail in
(`imap`, `graph`: the organizer's mailbox; `incoming`: one message read defensively; `triage`: what
to do with it; `picks`: the option-pick tokens in reply subjects).

Layer: above `backends` (Graph mail shares the Graph client), beside `team`, below the use cases.
May import: backends, store, ics, config, notes, core, errors, files.
"""
