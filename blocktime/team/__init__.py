"""Several trainers in one installation: the trainers (`trainers`), which daemon passes which
trainer now (`claims`, the interface; `fileclaims` on one machine, `pgclaims` on PostgreSQL;
`coordination` picks one), and what one process at a time does for a trainer (`exclusive`).

Layer: above `store` and `backends`, beside `mail`, below the use cases. May import: store,
backends, ics, config, notes, core, errors, files.
"""
