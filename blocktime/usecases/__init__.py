"""Use cases: plan with the pure core, then apply (backend writes, store, invites). Each takes one
`session.Session` (one command's world: config, clock, store, the calendar backend).

booking, pending (finishing what a stopped run left), calendar (busy time, If-Match updates),
offer_planning and offers (the part that is left), changes (move, cancel), sync with changetags,
absence and overlaps, answers, itipmail, replies, closedpick and waiting (what clients answer),
letters, messages, review and outgoing (what to tell whom, checked before it leaves), repair,
confirmations, engagements, sharedkeys; daemon_pass (one pass of the daemon, of every step above)
and daemon_status (where it stands).

Layer: below `views` and `cli`. May import: mail, team, backends, store, ics, config, notes, core,
errors, files; never `views` or `cli`.
"""
