"""Runtime settings, read once from the environment (see README for every variable)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "ROOT"]

ROOT = Path(__file__).resolve().parent.parent
# Trained artefacts are cached per user, outside the checkout, keyed by a hash of their inputs.
DEFAULT_MODEL_DIR = Path.home() / ".cache" / "resident-service-assistant" / "classifier"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    """A text variable, stripped; unset or blank → ``default``."""
    return env.get(name, "").strip() or default


def _words(env: Mapping[str, str], name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A list variable: "a b", "a,b" or "a, b"; unset → ``default`` (set but empty → empty)."""
    return tuple(env[name].replace(",", " ").split()) if name in env else default


def _rasa_urls(env: Mapping[str, str], rasa_port: int) -> tuple[str, ...]:
    """RASA_URLS="http://a:5005 http://b:5005" names the workers; else RASA_WORKERS (as `make run` starts
    them, one port each from RASA_PORT on); else RASA_URL alone."""
    if urls := _words(env, "RASA_URLS"):
        return urls
    if env.get("RASA_URL"):
        return (env["RASA_URL"],)
    raw = env.get("RASA_WORKERS", "")
    workers = max(1, int(raw) if raw.strip() else 1)
    return tuple(f"http://127.0.0.1:{rasa_port + i}" for i in range(workers))


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis Sentinel (deploy/): "host:port host:port ..." of the sentinels and the name they monitor; the
    # primary is asked of them and followed through a failover. Empty: REDIS_URL's server directly.
    redis_sentinels: tuple[str, ...] = ()
    redis_sentinel_service: str = "rsa"
    router_host: str = "127.0.0.1"
    router_port: int = 8080
    rasa_url: str = "http://127.0.0.1:5005"
    # Every Rasa worker when there are several (RASA_URLS, or RASA_WORKERS ports from RASA_PORT on);
    # empty: rasa_url alone.
    rasa_urls: tuple[str, ...] = ()
    gc_freeze: bool = True  # GC_FREEZE=0: the served heap is not frozen after startup (router/__main__.py)
    rasa_token: str = ""
    actions_url: str = "http://127.0.0.1:5055"
    api_token: str = ""
    # The action server's token (ROUTER_BOT_TOKEN): only the routes a conversation needs (router/access.py).
    bot_token: str = ""
    # Key of the permutation that turns a day's ticket sequence into its public id (TICKET_ID_KEY): without
    # it ids are sequential and guessable. Changing it changes future ids only.
    ticket_id_key: str = ""
    # Public base URL printed for humans and used in links; defaults to the bound address.
    public_url: str = ""
    session_idle_seconds: int = 30 * 60
    max_text_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    # --- public side (security review): web sessions, rate limits, SSE caps, retention.
    # A resident's web session ends after this many seconds without a message, a reload or an open page.
    web_session_ttl: int = 30 * 60
    # Reverse proxies whose X-Forwarded-For the public routes believe (addresses or networks,
    # TRUSTED_PROXIES="10.0.0.2 10.0.1.0/24"; empty: none). Loopback only by default.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    # Requests per RATE_LIMIT_WINDOW_SECONDS on the public web chat, per client address and per session;
    # generous (a kiosk or a NAT puts many residents behind one address); 0 switches a limit off.
    rate_window_seconds: int = 60
    rate_sessions_per_ip: int = 60
    rate_messages_per_ip: int = 600
    rate_messages_per_session: int = 60
    rate_reads_per_ip: int = 1200
    rate_reads_per_session: int = 120
    # Open event streams (SSE) per web session (across processes) and per router process.
    sse_max_per_session: int = 4
    sse_max_per_process: int = 500
    # Connections this process may hold to Redis (REDIS_MAX_CONNECTIONS); a burst beyond waits for one.
    redis_max_connections: int = 64
    # Conversations and their transcripts expire this many days after their last activity.
    conversation_retention_days: int = 90
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_encoding_aes_key: str = ""
    # The account's original id (gh_…, 公众号设置 → 原始ID): pushes to another ToUserName are refused.
    wechat_account_id: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    voice_user: str = ""
    voice_password: str = ""
    # The voice hotline (router/channels/voice.py). Where 0 / 转人工 goes: "sip:..."/"sips:..." or a phone
    # number → dial; "user:NAME" or a bare NAME → a user registered on the gateway; "queue:NAME" → enqueue.
    voice_operator_queue: str = "operators"
    voice_caller_id: str = ""  # callerId presented to the operator leg (empty: the gateway's default)
    voice_asr_vendor: str = "default"  # "default": the gateway application's own speech engine
    voice_language: str = "zh-CN"
    voice_speech_rate: str = "slow"  # SSML prosody rate; set but empty → plain text (engines without SSML)
    voice_dialogue_seconds: float = 7.0
    voice_gather_timeout: int = 10
    voice_min_confidence: float = 0.6
    voice_readback: bool = True
    console_secret: str = ""
    # Key of the resident's tracking links /t/{token} (TRACKING_SECRET). Unset: derived from CONSOLE_SECRET or
    # ROUTER_API_TOKEN, else generated once and kept in var_dir/tracking-secret (see tracking_key()).
    tracking_secret: str = ""
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto / Forwarded headers the console believes
    # (addresses or networks; CONSOLE_TRUSTED_PROXIES="10.0.0.2 10.0.1.0/24"). Loopback only by default.
    console_trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    data_dir: Path = field(default_factory=lambda: ROOT / "router" / "data")
    var_dir: Path = field(default_factory=lambda: ROOT / "var")
    # Where `make classifier` writes the trained artefacts the router serves with (CLASSIFIER_CACHE_DIR;
    # the same default as scripts/env.sh, so a process started without it finds them too).
    model_dir: Path = field(default_factory=lambda: DEFAULT_MODEL_DIR)

    @property
    def rasa_workers(self) -> tuple[str, ...]:
        return self.rasa_urls or (self.rasa_url,)

    def tracking_key(self) -> bytes:
        """The HMAC key of tracking links: TRACKING_SECRET; else derived from CONSOLE_SECRET or ROUTER_API_TOKEN
        (rotating that secret retires the links sent so far); else a random key generated on the first start
        and kept in var_dir/tracking-secret (0600), so links stay valid across restarts."""
        if self.tracking_secret:
            return hashlib.sha256(b"tracking:" + self.tracking_secret.encode()).digest()
        if base := self.console_secret or self.api_token:
            return hmac.new(base.encode(), b"rsa-tracking-link", hashlib.sha256).digest()
        path = self.var_dir / "tracking-secret"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made on an earlier start, or by another process starting now
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
        kept = ""
        for _ in range(20):  # another process may have created it and not yet written it
            if kept := path.read_text(encoding="utf-8").strip():
                break
            time.sleep(0.05)
        if not kept:
            raise RuntimeError(f"{path} is empty: delete it (links sent so far stop working) or set TRACKING_SECRET")
        return hashlib.sha256(b"tracking:" + kept.encode()).digest()

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        rasa_port = _int("RASA_PORT", 5005)
        actions_port = _int("ACTIONS_PORT", 5055)
        return cls(
            redis_url=env.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            redis_sentinels=_words(env, "REDIS_SENTINELS"),
            redis_sentinel_service=env.get("REDIS_SENTINEL_SERVICE") or "rsa",
            router_host=env.get("ROUTER_HOST", "127.0.0.1"),
            router_port=_int("ROUTER_PORT", 8080),
            rasa_url=env.get("RASA_URL") or f"http://127.0.0.1:{rasa_port}",
            rasa_urls=_rasa_urls(env, rasa_port),
            gc_freeze=_text(env, "GC_FREEZE", "1") not in ("0", "false", "no", "off"),
            rasa_token=env.get("RASA_TOKEN", ""),
            actions_url=env.get("ACTIONS_URL") or f"http://127.0.0.1:{actions_port}",
            api_token=env.get("ROUTER_API_TOKEN", ""),
            bot_token=env.get("ROUTER_BOT_TOKEN", ""),
            ticket_id_key=env.get("TICKET_ID_KEY", ""),
            public_url=env.get("PUBLIC_URL", ""),
            session_idle_seconds=_int("SESSION_IDLE_SECONDS", 30 * 60),
            web_session_ttl=_int("WEB_SESSION_TTL", _int("SESSION_IDLE_SECONDS", 30 * 60)),
            trusted_proxies=_words(env, "TRUSTED_PROXIES", ("127.0.0.1/32", "::1/128")),
            rate_window_seconds=_int("RATE_LIMIT_WINDOW_SECONDS", 60),
            rate_sessions_per_ip=_int("RATE_LIMIT_SESSIONS_PER_IP", 60),
            rate_messages_per_ip=_int("RATE_LIMIT_MESSAGES_PER_IP", 600),
            rate_messages_per_session=_int("RATE_LIMIT_MESSAGES_PER_SESSION", 60),
            rate_reads_per_ip=_int("RATE_LIMIT_READS_PER_IP", 1200),
            rate_reads_per_session=_int("RATE_LIMIT_READS_PER_SESSION", 120),
            sse_max_per_session=_int("SSE_MAX_PER_SESSION", 4),
            sse_max_per_process=_int("SSE_MAX_PER_PROCESS", 500),
            redis_max_connections=_int("REDIS_MAX_CONNECTIONS", 64),
            conversation_retention_days=_int("CONVERSATION_RETENTION_DAYS", 90),
            wechat_token=env.get("WECHAT_TOKEN", ""),
            wechat_app_id=env.get("WECHAT_APP_ID", ""),
            wechat_app_secret=env.get("WECHAT_APP_SECRET", ""),
            wechat_encoding_aes_key=env.get("WECHAT_ENCODING_AES_KEY", ""),
            wechat_account_id=env.get("WECHAT_ACCOUNT_ID", "").strip(),
            wechat_api_base=env.get("WECHAT_API_BASE") or "https://api.weixin.qq.com",
            voice_user=env.get("VOICE_WEBHOOK_USER", ""),
            voice_password=env.get("VOICE_WEBHOOK_PASSWORD", ""),
            voice_operator_queue=_text(env, "VOICE_OPERATOR_QUEUE", "operators"),
            voice_caller_id=_text(env, "VOICE_CALLER_ID", ""),
            voice_asr_vendor=_text(env, "VOICE_ASR_VENDOR", "default"),
            voice_language=_text(env, "VOICE_LANGUAGE", "zh-CN"),
            voice_speech_rate=env.get("VOICE_SPEECH_RATE", "slow").strip(),
            voice_dialogue_seconds=float(_text(env, "VOICE_DIALOGUE_SECONDS", "7")),
            voice_gather_timeout=int(_text(env, "VOICE_GATHER_TIMEOUT", "10")),
            voice_min_confidence=float(_text(env, "VOICE_MIN_CONFIDENCE", "0.6")),
            voice_readback=_text(env, "VOICE_READBACK", "1") not in ("0", "false", "no", "off"),
            console_secret=env.get("CONSOLE_SECRET", ""),
            tracking_secret=env.get("TRACKING_SECRET", "").strip(),
            console_trusted_proxies=_words(env, "CONSOLE_TRUSTED_PROXIES", ("127.0.0.1", "::1")),
            var_dir=Path(env["VAR_DIR"]) if env.get("VAR_DIR") else ROOT / "var",
            model_dir=Path(env["CLASSIFIER_CACHE_DIR"]) if env.get("CLASSIFIER_CACHE_DIR") else DEFAULT_MODEL_DIR,
        )
