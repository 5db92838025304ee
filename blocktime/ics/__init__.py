"""iCalendar codec: block <-> VEVENT, iTIP invites, busy time from real-world calendars."""
