"""The pure domain: blocks, series, slots and policies. No I/O here; `now` is always passed in.

Layer: the bottom. Imports nothing of blocktime, and no I/O library (socket, http
clients, sqlite3, smtplib, imaplib, caldav, icalendar): import-linter checks both (`make lint`).
"""
