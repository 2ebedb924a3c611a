"""WeChat signatures and 安全模式 encryption against Tencent's own published sample values."""

from __future__ import annotations

import base64

import pytest

from router.channels.wechat_crypto import (
    TIMESTAMP_WINDOW_SECONDS,
    CryptoError,
    InvalidSignature,
    StaleTimestamp,
    WeChatCrypto,
    check_signature,
    check_timestamp,
    pkcs7_pad,
    pkcs7_unpad,
    signature,
)

SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

# From Tencent's WXBizMsgCrypt sample (Official Account message encryption): a push and its signature.
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2L"
    "dJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6u"
    "x5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJ"
    "pXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCz"
    "pu9GhglF2PE="
)


def sample() -> WeChatCrypto:
    return WeChatCrypto("spamtest", SAMPLE_KEY, "wx2c2769f8efd9abc2")


def test_tencent_sample_push_verifies_and_decrypts() -> None:
    crypto = sample()
    crypto.check_msg_signature("5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669", "1320562132",
                               SAMPLE_ENCRYPT)
    xml = crypto.decrypt(SAMPLE_ENCRYPT)
    assert "<Content><![CDATA[abcdteT]]></Content>" in xml
    assert "<MsgId>6054768590064713728</MsgId>" in xml


def test_encrypt_matches_the_published_known_answer() -> None:
    crypto = WeChatCrypto("pamtest", SAMPLE_KEY, "wxb11529c136998cb6")
    assert crypto.encrypt("我是中文abcd123", random_prefix=b"aaaabbbbccccdddd") == (
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==")


def test_signature_is_sha1_of_the_sorted_parts_in_any_order() -> None:
    assert signature("token", "1409735669", "1320562132") == signature("1320562132", "token", "1409735669")
    check_signature(signature("token", "1", "2"), "token", "1", "2")
    with pytest.raises(InvalidSignature):
        check_signature(signature("token", "1", "2"), "other", "1", "2")
    with pytest.raises(InvalidSignature):
        check_signature("", "token", "1", "2")


def test_a_wrong_msg_signature_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        sample().check_msg_signature("5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735670", "1320562132",
                                     SAMPLE_ENCRYPT)


def test_round_trip_with_random_prefix_and_chinese() -> None:
    crypto = sample()
    xml = "<xml><Content><![CDATA[南山区粤海街道 路灯不亮]]></Content></xml>"
    a, b = crypto.encrypt(xml), crypto.encrypt(xml)
    assert a != b  # 16 fresh random bytes each time
    assert crypto.decrypt(a) == xml == crypto.decrypt(b)
    assert len(base64.b64decode(a)) % 32 == 0


def test_message_for_another_app_id_is_refused() -> None:
    other = WeChatCrypto("spamtest", SAMPLE_KEY, "wx_someone_else")
    with pytest.raises(CryptoError, match="AppID"):
        sample().decrypt(other.encrypt("<xml/>"))


def test_garbage_ciphertext_is_refused() -> None:
    crypto = sample()
    with pytest.raises(CryptoError):
        crypto.decrypt("not base64 !!")
    with pytest.raises(CryptoError):
        crypto.decrypt(base64.b64encode(b"short").decode())
    with pytest.raises(CryptoError):
        crypto.decrypt(base64.b64encode(bytes(64)).decode())  # decrypts to noise: padding is wrong


def test_padding_is_to_32_byte_blocks() -> None:
    assert len(pkcs7_pad(b"")) == 32 and pkcs7_pad(b"")[-1] == 32
    assert pkcs7_pad(b"a" * 31) == b"a" * 31 + b"\x01"
    assert pkcs7_unpad(pkcs7_pad(b"abc")) == b"abc"
    with pytest.raises(CryptoError):
        pkcs7_unpad(b"a" * 31 + b"\x00")


@pytest.mark.parametrize("key", ["short", SAMPLE_KEY + "H", "!" * 43])
def test_a_bad_encoding_aes_key_is_a_clear_configuration_error(key: str) -> None:
    with pytest.raises(ValueError, match="WECHAT_ENCODING_AES_KEY"):
        WeChatCrypto("t", key, "wx1")


def test_a_timestamp_is_accepted_only_within_the_window_either_way() -> None:
    now = 1_700_000_000.4
    assert TIMESTAMP_WINDOW_SECONDS == 300
    assert check_timestamp("1700000000", now) == 1_700_000_000
    assert check_timestamp("1699999701", now) == 1_699_999_701  # 299.4 s late: network, clock skew
    assert check_timestamp("1700000300", now) == 1_700_000_300
    for stale in ("1000000000", "1699999699", "1700000301", "1800000000"):
        with pytest.raises(StaleTimestamp):
            check_timestamp(stale, now)
    assert check_timestamp("1699999100", now, window=1000) == 1_699_999_100


@pytest.mark.parametrize("raw", ["", " 1700000000", "-1700000000", "1.7e9", "１７００００００００", "9" * 5000, "0x65"])
def test_a_timestamp_that_is_not_epoch_seconds_is_malformed_not_stale(raw: str) -> None:
    with pytest.raises(ValueError) as info:
        check_timestamp(raw, 1_700_000_000)
    assert not isinstance(info.value, StaleTimestamp)
