"""社区民生服务助手 — the router: channels, conversation state, operator console and the domain.

Kept free of imports so that the bot runtime (Python 3.10) can import the pure domain modules
(e.g. ``router.domain.normalise``) without pulling in aiohttp or redis-py.
"""
