"""WeChat Official Account message signatures and 安全模式 (AES) encryption, as WeChat documents them.

Pure functions, no I/O:

- ``signature``: sha1 of the sorted, concatenated strings — [token, timestamp, nonce] for the URL
  ``signature``; [token, timestamp, nonce, Encrypt] for ``msg_signature`` in 安全模式.
- ``check_timestamp``: the request's ``timestamp`` must be within ``TIMESTAMP_WINDOW_SECONDS`` of our
  clock. WeChat signs a fresh timestamp into every push, so an old one is a replay (or a clock far off).
- ``WeChatCrypto``: AES-256-CBC with key = base64decode(EncodingAESKey + "="), iv = key[:16], PKCS#7
  padding to 32-byte blocks; the plaintext is 16 random bytes + a 4-byte network-order length + the XML
  + the AppID, and the AppID must match ours on the way in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "BLOCK_SIZE",
    "TIMESTAMP_WINDOW_SECONDS",
    "CryptoError",
    "InvalidSignature",
    "StaleTimestamp",
    "check_timestamp",
    "WeChatCrypto",
    "signature",
    "check_signature",
    "pkcs7_pad",
    "pkcs7_unpad",
]

# WeChat pads to 32 bytes (the key length), not AES's 16-byte block: both ends must agree.
BLOCK_SIZE = 32

# How far a push's timestamp may be from our clock, either way: WeChat's own retries end within ~15 s,
# so this is all clock skew allowance. WeChat Pay documents the same 5 minutes for its callbacks.
TIMESTAMP_WINDOW_SECONDS = 300


class CryptoError(ValueError):
    """The encrypted message cannot be opened: bad base64, bad padding, bad length, or another AppID."""


class InvalidSignature(ValueError):
    """The request was not signed with our token."""


class StaleTimestamp(ValueError):
    """The signed timestamp is too old (a replay of a logged request) or too far in the future."""


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected: str, *parts: str) -> None:
    if not expected or not hmac.compare_digest(signature(*parts), expected.strip().lower()):
        raise InvalidSignature("signature mismatch")


def check_timestamp(timestamp: str, now: float, window: int = TIMESTAMP_WINDOW_SECONDS) -> int:
    """The timestamp as epoch seconds, if it is one (ValueError if not) and within ±``window`` of ``now``
    (StaleTimestamp if not). At most 12 digits: Python would not even convert 5,000."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise ValueError("timestamp must be epoch seconds")
    value = int(timestamp)
    if abs(value - now) > window:
        raise StaleTimestamp(f"timestamp is more than {window} s away from the server's clock")
    return value


def pkcs7_pad(data: bytes, block: int = BLOCK_SIZE) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def pkcs7_unpad(data: bytes, block: int = BLOCK_SIZE) -> bytes:
    if not data or len(data) % 16:
        raise CryptoError("ciphertext length is not a whole number of AES blocks")
    n = data[-1]
    if not 1 <= n <= block or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding")
    return data[:-n]


class WeChatCrypto:
    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("WECHAT_ENCODING_AES_KEY must be 43 characters (as the WeChat console shows it)")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("WECHAT_ENCODING_AES_KEY is not valid base64") from exc
        if len(key) != 32:
            raise ValueError("WECHAT_ENCODING_AES_KEY does not decode to a 32-byte key")
        self.token = token
        self.app_id = app_id
        self._key = key
        self._iv = key[:16]

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._iv))

    def encrypt(self, xml: str, *, random_prefix: bytes | None = None) -> str:
        """The base64 ``Encrypt`` text for ``xml``; ``random_prefix`` only for known-answer tests."""
        prefix = os.urandom(16) if random_prefix is None else random_prefix
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        body = xml.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.app_id.encode("utf-8")
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(pkcs7_pad(plain)) + enc.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The XML inside an ``Encrypt`` text, after checking that it was meant for our AppID."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("Encrypt is not valid base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext length is not a whole number of AES blocks")
        dec = self._cipher().decryptor()
        plain = pkcs7_unpad(dec.update(raw) + dec.finalize())
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("declared length exceeds the plaintext")
        xml, app_id = plain[20:20 + length], plain[20 + length:]
        if not hmac.compare_digest(app_id, self.app_id.encode("utf-8")):
            raise CryptoError("message was encrypted for another AppID")
        try:
            return xml.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("plaintext is not UTF-8") from exc

    def check_msg_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        check_signature(msg_signature, self.token, timestamp, nonce, encrypted)

    def encrypt_reply(self, xml: str, timestamp: str, nonce: str) -> str:
        """The 安全模式 passive-reply envelope: <xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>."""
        encrypted = self.encrypt(xml)
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{escape(timestamp)}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
