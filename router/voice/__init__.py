"""The voice hotline's pure parts: jambonz verbs and their validator, speech rendering for elderly
callers, and a terminal phone simulator (``python -m router.voice.simulate``).

The HTTP side (webhooks, call state in Redis) lives in ``router.channels.voice``.
"""

__all__: list[str] = []
