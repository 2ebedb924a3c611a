"""The console's pages and form posts, one module per page: login and the password page (login), the
queue (queue), one conversation and the operator's actions on it (conversations), the ticket board
(tickets), the supervisor's figures and the audit trail (supervisor), and user administration (users).
Every handler parses the request, calls the store or service that does the work, and renders."""
