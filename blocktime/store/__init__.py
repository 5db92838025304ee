"""Local state: the store (`store`) and its tables (`blocks`, `offers`, `mailqueue`: the mail
outbox and log, `attendance`: attendees' answers), the engines (`engines`: SQLite, PostgreSQL),
the schema and its upgrades (`migrations`), and the zone blocks were booked in (`zoneguard`).

Layer: beside `backends`, below `mail`, `team` and the use cases. May import: config, core,
errors, files.
"""
