"""The operator console (/console): login and roles (auth, users), pages and live updates (views),
the audit trail (audit), and user administration from the shell (``python -m router.console users ...``)."""
