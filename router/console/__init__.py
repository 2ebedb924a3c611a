"""The operator console (/console): login and roles (auth, users), pages and live updates (views),
the audit trail (audit), residents' numbers masked for operators (masking), the client's address and
https behind a reverse proxy (proxies), and user administration from the shell (``python -m
router.console users ...``)."""
