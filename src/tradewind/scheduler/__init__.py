"""The scheduler: pure planning (``planning``) and the event-driven loop (``loop``)."""
