"""The config: one declarative schema (`schema`), loading and checking a file (`loading`), what
people type (`inputs`), secrets (`passwords`: read when a connection needs them; `secrets`,
`redaction`; `auth`: OAuth tokens, `auth_flows`: the one-time sign-ins), ready-made calendar
profiles (`profiles`) and the store URL (`store_url`).

Layer: above `core` and `notes`, beside `ics`. May import: core, notes, errors, files. Everything
above reads its typed values; nothing here opens a calendar, a mailbox or the store.
"""
