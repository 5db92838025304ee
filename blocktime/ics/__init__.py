"""iCalendar codec: block <-> VEVENT, iTIP invites, busy time from real-world calendars.

Layer: above `core` and `notes` (a block's description is a courteous note), beside `config`.
May import: core, notes, errors. Never a backend, the store or a use case: it turns values into
text and text into values.
"""
