"""Runtime settings, read once from the environment (see README for every variable)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "ROOT"]

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    router_host: str = "127.0.0.1"
    router_port: int = 8080
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    actions_url: str = "http://127.0.0.1:5055"
    api_token: str = ""
    # Public base URL printed for humans and used in links; defaults to the bound address.
    public_url: str = ""
    session_idle_seconds: int = 30 * 60
    max_text_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_encoding_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    voice_user: str = ""
    voice_password: str = ""
    console_secret: str = ""
    data_dir: Path = field(default_factory=lambda: ROOT / "router" / "data")
    var_dir: Path = field(default_factory=lambda: ROOT / "var")

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        rasa_port = _int("RASA_PORT", 5005)
        actions_port = _int("ACTIONS_PORT", 5055)
        return cls(
            redis_url=env.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            router_host=env.get("ROUTER_HOST", "127.0.0.1"),
            router_port=_int("ROUTER_PORT", 8080),
            rasa_url=env.get("RASA_URL") or f"http://127.0.0.1:{rasa_port}",
            rasa_token=env.get("RASA_TOKEN", ""),
            actions_url=env.get("ACTIONS_URL") or f"http://127.0.0.1:{actions_port}",
            api_token=env.get("ROUTER_API_TOKEN", ""),
            public_url=env.get("PUBLIC_URL", ""),
            session_idle_seconds=_int("SESSION_IDLE_SECONDS", 30 * 60),
            wechat_token=env.get("WECHAT_TOKEN", ""),
            wechat_app_id=env.get("WECHAT_APP_ID", ""),
            wechat_app_secret=env.get("WECHAT_APP_SECRET", ""),
            wechat_encoding_aes_key=env.get("WECHAT_ENCODING_AES_KEY", ""),
            wechat_api_base=env.get("WECHAT_API_BASE") or "https://api.weixin.qq.com",
            voice_user=env.get("VOICE_WEBHOOK_USER", ""),
            voice_password=env.get("VOICE_WEBHOOK_PASSWORD", ""),
            console_secret=env.get("CONSOLE_SECRET", ""),
        )
