"""The operator console (/console), organised by concern:

- app: mounts the sub-application (route table, static files, startup: stores, the first admin);
- context: the console's state and what a request carries (session, flash, the client's address);
- access: guarded() (login, role, CSRF, password change first), the session cookie, security headers;
- render: jinja pages and partials, JSON-or-redirect answers, flash messages, the audit record;
- presenters: labels, times and the view dicts templates and live events show, numbers masked by role;
- live: the Server-Sent Events stream of queue and transcript changes (router.http_sse);
- routes/: one module per page (login, queue, conversations, tickets, supervisor and audit, users);
  the operator's actions on a conversation are the desk's (router.services.desk);
- auth, users, audit, proxies: roles and sessions, users in Redis, the audit trail, the client's
  address and https behind a reverse proxy;
- __main__: user administration from the shell (``python -m router.console users ...``).
"""
