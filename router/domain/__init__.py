"""Pure domain code: no I/O, no aiohttp, no Redis. Adapters live in router.adapters."""
