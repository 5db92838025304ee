"""Calendar backends: the protocol every use case goes through (`base`), and its implementations:
CalDAV (`caldav`, on the wire of `davhttp`), Google (`google`), Microsoft Graph (`graph*`) and the
embedded Radicale (`local`); `factory` opens the one `[calendar] provider` names.

Layer: beside `store`, below `mail`, `team` and the use cases. May import: ics, config, core,
errors, files. A new provider is a module here implementing `base.CalendarBackend`, named in
`factory` and given a profile in calendars/.
"""
