"""Pictures of the schedule: `agenda`, and the week (`week` as plain values, drawn by `text` in the
terminal and by `html` as a page); the daemon's passes and status (`daemon`) and a team's
(`team`) in words. They read the store and the core, and get busy time through
`usecases.calendar.read_busy`: never the backends directly.

Layer: above the use cases, below `cli`. May import: usecases and everything below; never `cli`.
"""
