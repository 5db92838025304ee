"""Sample calendars (see README.md here), shipped as the package data `blocktime.samples` so that
`blocktime demo` works from any install, not only from a source checkout."""
