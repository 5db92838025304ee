"""The pure domain: blocks, series, slots and policies. No I/O here; `now` is always passed in."""
