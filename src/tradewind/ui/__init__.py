"""The web UI: server-rendered Jinja2 pages and small vanilla JS (see ``routes.router``)."""
