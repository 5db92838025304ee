"""Pictures of the schedule (terminal and HTML). They read the store and the core, and get busy
time through `service.read_busy`: never the backends directly."""
