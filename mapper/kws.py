"""Keyword spotting data: a Speech-Commands-like set synthesized offline with espeak-ng.

    python -m mapper.kws [--seed 0] [--cache-dir build/kws] [--no-progress] [--baseline mlp]

generates (or loads) the data set of :func:`kws_data` and prints its sizes, class balance,
generation time and a float baseline (a small scikit-learn MLP, or a logistic regression, on the
1024 features).

**Classes** (:data:`CLASSES`, label = index): the 10 Speech Commands keywords ``yes no up down
left right on off stop go``, ``unknown`` (any word of :data:`UNKNOWN_WORDS`: the other 25 words
of Speech Commands v0.02 and 15 more everyday English words) and ``silence`` (background
noise only). Both splits are balanced: sample ``k`` of a split of ``n`` has class
``k mod 12`` before shuffling, so every class holds ``n / 12`` samples (the extra
``n mod 12`` go to the first classes).

**Voices**: an espeak-ng voice is a language voice times a voice variant, ``"en-us+Alex"``
(``espeak-ng --voices=en`` lists the English language voices, ``--voices=variant`` the
variants). :data:`LANGUAGES` holds the eight English accents of espeak-ng's own (``gmw``)
voices (the ``mb-*`` voices need MBROLA, which is not installed), :data:`VARIANTS` the 101
variants of espeak-ng 1.51 (Debian 12): 808 voices. **The train/test split is by variant**:
a fraction ``test_fraction`` of the variants (drawn from the seed) belongs to the test set
only, in every language, so no test voice (nor its variant in any other accent) is ever heard
in training. The accents are shared by both splits.

**Synthesis**: each espeak-ng call speaks ``words_per_call`` words of one split as separate
sentences (``"yes. sheila? stop."``, a random ``.`` or ``?`` after each word: falling or
rising intonation), in one voice, at one speed (words per minute, uniform integer in
``speed_wpm``) and one pitch (espeak-ng's 0-99 scale, uniform integer in ``pitch``), with a
long pause between sentences (``-g 60``). The 22.05 kHz output is cut at silences of at least
0.15 s (samples within 2 LSB of zero) into one piece per word; a call whose cut does not give
one piece per word is spoken again one word per call (counted in ``stats["respoken_words"]``).
Each word, trimmed to its non-silent span plus 10 ms on each side, is resampled to 16 kHz
(``scipy.signal.resample_poly``, 320/441) and kept as 16-bit samples. Calls run on a small
thread pool (each thread waits on its own espeak-ng process).

**Clips** (1 s at 16 kHz, every draw from the seed, the split and the sample's index):

- speech: the word is scaled to an RMS (over the word) of ``level_db`` dBFS (uniform in the
  range) and placed with its centre at the clip's centre shifted by a uniform random time in
  ``[-shift_ms, shift_ms]`` (default 100 ms), moved back inside the clip where it would stick
  out (a word longer than 1 s is cut to a random 1 s window, counted in
  ``stats["truncated_words"]``). Speech Commands' clips are the loudest second of each
  recording, so its words sit near the centre, and the usual training recipe shifts them by
  up to 100 ms; with words anywhere in the second (``shift_ms = 500``) a flat fully connected
  network needs far more data for the same accuracy. Silence samples have no word but draw
  the same level;
- noise: ``white`` (Gaussian), ``pink`` (white shaped by ``1 / sqrt(f)`` in amplitude, a 1/f
  power spectrum) or ``babble`` (the sum of ``babble_talkers`` talkers, each a run of random
  words of the same split back to back from a random start: other speech of the split's own
  voices), one kind chosen uniformly from ``noise_kinds``, scaled to an RMS over the clip of
  ``level_db - snr_db`` dBFS with ``snr_db`` uniform in the range;
- the sum is clipped to ``[-1, 1]`` (counted in ``stats["clipped_clips"]``) and quantized to
  16 bits, as a 16-bit recording would be.

**Features** (:func:`log_mel`): log-mel spectrogram frames of the clip, 25 ms Hann windows
(400 samples) every 10 ms (160 samples), no padding: 98 frames; the power spectrum of a
512-point FFT of each frame through 40 triangular mel filters (HTK mel scale, 20 Hz to
8 kHz), natural logarithm of the band power plus 1e-10; flattened frame-major (feature
``40 t + b`` is band ``b`` of frame ``t``): 3920 values.

**Pruning to 1024 inputs** (``prune="f_score"``, :func:`select_features`): the 1024 features
with the largest ANOVA F statistic over the 12 classes on the training set (between-class over
within-class variance of the feature, ``sklearn.feature_selection.f_classif``), kept in
ascending index order. Unlike a fixed crop this keeps the time-frequency points that separate
the classes (with words at random offsets these are the middle frames of the clip and the
speech bands), and unlike the largest-variance rule (``prune="variance"``) it ignores the
variance that the random level and noise put into every bin. The test set only uses the
indices chosen on the training set.

**Scaling to [0, 1]** (the chip's unsigned 8-bit inputs): per feature, ``lo`` and ``hi`` are
the ``clip_percentile`` and ``100 - clip_percentile`` percentiles of the training set, and
``x = clip((v - lo) / (hi - lo), 0, 1)``; the fraction of clipped values is reported for both
splits (``clipped_train``, ``clipped_test``; about ``2 clip_percentile`` % on the training
set by construction).

**Cache**: :func:`kws_data` keeps the result (features, labels, voices, words, the pruning
indices and the scaling, not the audio: 12 000 clips are 384 MB of 16-bit samples) in
``cache_dir/kws-<key>.npz``, keyed by a SHA-256 of :data:`FORMAT_VERSION`, the seed, every
field of the :class:`KwsConfig` and espeak-ng's version; the full key is stored inside and
checked. A call that finds the file loads it (``result["cached"]`` is True, and the log says
``loaded cached KWS data set <path>``, INFO, logger ``mapper.kws``).

espeak-ng is a Debian package that ``make setup`` installs (scripts/setup_system.sh); without
it :func:`kws_data` raises ``RuntimeError``.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import math
import numbers
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

__all__ = [
    "FORMAT_VERSION", "SAMPLE_RATE", "CLIP_SAMPLES", "KEYWORDS", "CLASSES", "UNKNOWN_WORDS",
    "LANGUAGES", "VARIANTS", "KwsConfig", "kws_data", "split_voices", "sample_plan",
    "espeak_version", "installed_variants", "synthesize", "log_mel", "mel_filterbank",
    "select_features", "fit_scaling", "apply_scaling", "cache_key", "cache_path", "baseline",
    "main",
]

log = logging.getLogger("mapper.kws")

#: Version of the generation code and of the cache file; part of every cache key, so a change
#: of the code that changes the data must bump it.
FORMAT_VERSION = 1

#: Clip sample rate (Hz) and length (1 s).
SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE

#: espeak-ng's output sample rate (Hz).
ESPEAK_RATE = 22050

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
#: The 12 class names; a label is an index into this tuple.
CLASSES = KEYWORDS + ("unknown", "silence")
UNKNOWN = CLASSES.index("unknown")
SILENCE = CLASSES.index("silence")

#: Words of the ``unknown`` class: the other 25 words of Speech Commands v0.02, then 15 more
#: everyday English words of two or three syllables.
UNKNOWN_WORDS = (
    "bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine",
    "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "backward",
    "forward", "follow", "learn", "visual",
    "water", "music", "open", "hello", "window", "table", "paper", "number", "orange",
    "morning", "family", "garden", "purple", "animal", "kitchen",
)

#: English language voices of espeak-ng (its own ``gmw`` voices; ``en`` is British English).
LANGUAGES = ("en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
             "en-gb-x-gbcwmd", "en-029", "en-us-nyc")

#: The voice variants of espeak-ng 1.51 (``espeak-ng --voices=variant``).
VARIANTS = (
    "adam", "Alex", "Alicia", "Andrea", "Andy", "Annie", "antonio", "aunty", "belinda",
    "benjamin", "boris", "caleb", "david", "Demonic", "Denis", "Diogo", "ed", "edward",
    "edward2", "Gene", "Gene2", "gustave", "announcer", "Henrique", "Hugo", "iven", "iven2",
    "iven3", "iven4", "Jacky", "john", "kaukovalta", "Lee", "linda", "marcelo", "Marco",
    "Mario", "max", "Michael", "michel", "miguel", "Mike", "Mr", "Nguyen", "pablo", "paul",
    "pedro", "quincy", "RicishayMax", "RicishayMax2", "RicishayMax3", "rob", "robert",
    "robosoft", "robosoft2", "robosoft3", "robosoft4", "robosoft5", "robosoft6", "robosoft7",
    "robosoft8", "steph", "steph2", "steph3", "Storm", "Tweaky", "UniRobot", "zac", "anika",
    "anikaRobot", "AnxiousAndy", "fast", "f2", "f3", "f4", "f5", "whisperf", "grandpa", "klatt",
    "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "m2", "m3", "m4", "m5", "m6", "m7",
    "norbert", "sandro", "shelby", "travis", "victor", "whisper", "m8", "f1", "croak", "m1",
    "grandma",
)

NOISE_KINDS = ("white", "pink", "babble")
PRUNE_RULES = ("f_score", "variance")

_WORD_GAP = 60              # espeak-ng -g: pause between words, 10 ms units at 175 wpm
_SILENCE_LSB = 2            # |sample| <= 2 LSB counts as silence when cutting words
_MIN_PAUSE_S = 0.15         # a cut needs this much silence
_MARGIN_S = 0.010           # kept around each word's non-silent span
_TRIM_DB = 45.0             # a word ends where its 10 ms frames fall this far below its peak
_LOG_FLOOR = 1e-10


# -- validation -------------------------------------------------------------------------------
def _check_int(name, value, lo, hi=None):
    rng = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer {rng}, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer {rng}, not {value!r}")
    return int(value)


def _check_float(name, value, lo, hi, lo_open=False, hi_open=False):
    rng = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in {rng}, not {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) \
            or (hi_open and v == hi):
        raise ValueError(f"{name} must be a finite real number in {rng}, not {value!r}")
    return v


def _check_range(name, value, lo, hi, integer=False):
    """A ``(low, high)`` pair with ``lo <= low <= high <= hi``, as a tuple."""
    kind = "integers" if integer else "real numbers"
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high) of {kind} in [{lo}, {hi}], "
                        f"not {value!r}")
    check = _check_int if integer else _check_float
    a, b = (check(f"{name}[{k}]", v, lo, hi) for k, v in enumerate(value))
    if a > b:
        raise ValueError(f"{name} must be a pair (low, high) with low <= high in [{lo}, {hi}], "
                         f"not {value!r}")
    return (a, b)


def _check_names(name, value, allowed=None, min_len=1):
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of strings, not {value!r}")
    value = tuple(value)
    if len(value) < min_len:
        raise ValueError(f"{name} must hold at least {min_len} names, not {value!r}")
    for v in value:
        if not isinstance(v, str) or not v or not v.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"{name} must hold names of letters, digits, '-' and '_', "
                             f"not {v!r}")
        if allowed is not None and v not in allowed:
            raise ValueError(f"{name} holds {v!r}, not one of {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} must not repeat a name: {value!r}")
    return value


@dataclass(frozen=True)
class KwsConfig:
    """Generation parameters of the KWS data set (see the module's documentation).

    Sizes: ``n_train`` / ``n_test`` samples (balanced over the 12 classes); the 2400 default
    test samples give a test accuracy near 86 % a standard error of 0.7 points. Voices:
    ``languages`` x ``variants``, a fraction ``test_fraction`` of the variants in the test
    set only. Speech: ``speed_wpm`` and ``pitch`` ranges, ``words_per_call`` words per
    espeak-ng call, the ``unknown_words``. Clips: ``shift_ms`` (largest time shift of a word
    from the clip's centre), ``level_db`` (speech RMS, dBFS) and ``snr_db`` ranges,
    ``noise_kinds``, ``babble_talkers``. Features: ``n_mels`` bands of ``window_ms`` windows
    every ``hop_ms``, ``f_min``..``f_max`` Hz; pruned to ``n_features`` by ``prune``; scaled
    between the ``clip_percentile`` and ``100 - clip_percentile`` training percentiles.
    """

    n_train: int = 14400
    n_test: int = 2400
    languages: tuple = LANGUAGES
    variants: tuple = VARIANTS
    test_fraction: float = 0.2
    speed_wpm: tuple = (120, 220)
    pitch: tuple = (20, 80)
    words_per_call: int = 8
    unknown_words: tuple = UNKNOWN_WORDS
    shift_ms: float = 100.0
    level_db: tuple = (-40.0, -20.0)
    snr_db: tuple = (5.0, 25.0)
    noise_kinds: tuple = NOISE_KINDS
    babble_talkers: int = 6
    n_mels: int = 40
    window_ms: float = 25.0
    hop_ms: float = 10.0
    f_min: float = 20.0
    f_max: float = 8000.0
    n_features: int = 1024
    prune: str = "f_score"
    clip_percentile: float = 0.5

    def __post_init__(self):
        c = "KwsConfig."
        s = object.__setattr__
        s(self, "n_train", _check_int(c + "n_train", self.n_train, len(CLASSES), 10**6))
        s(self, "n_test", _check_int(c + "n_test", self.n_test, len(CLASSES), 10**6))
        s(self, "languages", _check_names(c + "languages", self.languages))
        s(self, "variants", _check_names(c + "variants", self.variants, min_len=2))
        s(self, "test_fraction", _check_float(c + "test_fraction", self.test_fraction, 0.0,
                                              1.0, lo_open=True, hi_open=True))
        s(self, "speed_wpm", _check_range(c + "speed_wpm", self.speed_wpm, 80, 450, True))
        s(self, "pitch", _check_range(c + "pitch", self.pitch, 0, 99, True))
        s(self, "words_per_call", _check_int(c + "words_per_call", self.words_per_call, 1, 64))
        s(self, "unknown_words", _check_names(c + "unknown_words", self.unknown_words))
        bad = [w for w in self.unknown_words if w in KEYWORDS]
        if bad:
            raise ValueError(f"{c}unknown_words must not hold a keyword: {bad}")
        if not all(w.isalpha() for w in self.unknown_words):
            raise ValueError(f"{c}unknown_words must hold words of letters only, not "
                             f"{self.unknown_words!r}")
        s(self, "shift_ms", _check_float(c + "shift_ms", self.shift_ms, 0.0, 500.0))
        s(self, "level_db", _check_range(c + "level_db", self.level_db, -80.0, 0.0))
        s(self, "snr_db", _check_range(c + "snr_db", self.snr_db, -20.0, 80.0))
        s(self, "noise_kinds", _check_names(c + "noise_kinds", self.noise_kinds, NOISE_KINDS))
        s(self, "babble_talkers", _check_int(c + "babble_talkers", self.babble_talkers, 1, 32))
        s(self, "n_mels", _check_int(c + "n_mels", self.n_mels, 1, 128))
        s(self, "window_ms", _check_float(c + "window_ms", self.window_ms, 5.0, 100.0))
        s(self, "hop_ms", _check_float(c + "hop_ms", self.hop_ms, 1.0, self.window_ms))
        s(self, "f_min", _check_float(c + "f_min", self.f_min, 0.0, SAMPLE_RATE / 2,
                                      hi_open=True))
        s(self, "f_max", _check_float(c + "f_max", self.f_max, self.f_min, SAMPLE_RATE / 2,
                                      lo_open=True))
        s(self, "n_features", _check_int(c + "n_features", self.n_features, 1,
                                         self.n_raw_features))
        if self.prune not in PRUNE_RULES:
            raise ValueError(f"{c}prune must be one of {', '.join(PRUNE_RULES)}, "
                             f"not {self.prune!r}")
        s(self, "clip_percentile", _check_float(c + "clip_percentile", self.clip_percentile,
                                                0.0, 50.0, hi_open=True))
        n_test_var = self.n_test_variants
        if not 1 <= n_test_var <= len(self.variants) - 1:
            raise ValueError(f"{c}test_fraction = {self.test_fraction} gives {n_test_var} of "
                             f"{len(self.variants)} variants to the test set: both splits "
                             f"need at least one")

    def replace(self, **changes) -> "KwsConfig":
        return replace(self, **changes)

    @property
    def n_test_variants(self) -> int:
        return int(round(self.test_fraction * len(self.variants)))

    @property
    def window(self) -> int:
        """Window length in samples."""
        return int(round(self.window_ms * SAMPLE_RATE / 1000))

    @property
    def hop(self) -> int:
        """Hop in samples."""
        return int(round(self.hop_ms * SAMPLE_RATE / 1000))

    @property
    def n_frames(self) -> int:
        return 1 + (CLIP_SAMPLES - self.window) // self.hop

    @property
    def n_fft(self) -> int:
        return 1 << (self.window - 1).bit_length()

    @property
    def n_raw_features(self) -> int:
        """Log-mel values per clip before pruning (98 x 40 = 3920 by default)."""
        return self.n_frames * self.n_mels


# -- plan -------------------------------------------------------------------------------------
def _rng(seed, *path):
    return np.random.default_rng(np.random.SeedSequence([seed, *path]))


def split_voices(config: KwsConfig, seed: int = 0):
    """``(train_voices, test_voices)``: lists of ``"language+variant"``; the test set holds
    ``config.n_test_variants`` variants (drawn from ``seed``) in every language."""
    order = _rng(seed, 1).permutation(len(config.variants))
    test_var = sorted(order[:config.n_test_variants])
    train_var = sorted(order[config.n_test_variants:])
    make = lambda idx: [f"{lang}+{config.variants[i]}" for i in idx for lang in config.languages]
    return make(train_var), make(test_var)


def sample_plan(config: KwsConfig, seed: int = 0):
    """What each sample of both splits says, without synthesizing anything.

    Returns ``{"train": plan, "test": plan}``, a plan being a dict: ``labels`` (n,) int64,
    ``words`` (n,) str (``""`` for silence), ``calls`` (list of ``(voice, speed, pitch,
    [(sample index, word, punctuation), ...])``, the espeak-ng calls), ``voices`` (n,) str
    (the voice of each sample, ``""`` for silence) and ``voice_set`` (the split's voices)."""
    _check_int("seed", seed, 0, 2**32 - 1)
    train_v, test_v = split_voices(config, seed)
    out = {}
    for split_id, (name, n, voices) in enumerate((("train", config.n_train, train_v),
                                                  ("test", config.n_test, test_v))):
        rng = _rng(seed, 2, split_id)
        labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
        words = np.array([CLASSES[k] if k < UNKNOWN else "" for k in labels], dtype=object)
        unk = np.flatnonzero(labels == UNKNOWN)
        words[unk] = [config.unknown_words[i]
                      for i in rng.integers(0, len(config.unknown_words), len(unk))]
        speech = rng.permutation(np.flatnonzero(labels != SILENCE))
        sample_voice = np.array([""] * n, dtype=object)
        calls = []
        for start in range(0, len(speech), config.words_per_call):
            idx = speech[start:start + config.words_per_call]
            voice = voices[int(rng.integers(len(voices)))]
            speed = int(rng.integers(config.speed_wpm[0], config.speed_wpm[1] + 1))
            pitch = int(rng.integers(config.pitch[0], config.pitch[1] + 1))
            punct = rng.choice([".", "?"], len(idx))
            calls.append((voice, speed, pitch,
                          [(int(i), str(words[i]), str(p)) for i, p in zip(idx, punct)]))
            sample_voice[idx] = voice
        out[name] = {"labels": labels, "words": words.astype(str),
                     "voices": sample_voice.astype(str), "calls": calls,
                     "voice_set": list(voices)}
    return out


# -- espeak-ng --------------------------------------------------------------------------------
def _espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError("espeak-ng not found: it synthesizes the KWS data set; install it "
                           "with `make setup` (Debian package espeak-ng)")
    return path


def espeak_version() -> str:
    """espeak-ng's version line (part of the cache key: another version speaks differently)."""
    out = subprocess.run([_espeak(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def installed_variants() -> set:
    """The variant names ``espeak-ng --voices=variant`` lists."""
    out = subprocess.run([_espeak(), "--voices=variant"], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[4].startswith("!v/"):
            names.add(parts[4][3:])
    return names


def installed_languages() -> set:
    out = subprocess.run([_espeak(), "--voices=en"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[1] for line in out.splitlines()[1:] if len(line.split()) > 1}


def _speak(voice: str, speed: int, pitch: int, text: str) -> np.ndarray:
    """espeak-ng's 22.05 kHz 16-bit output for ``text`` (int16 samples)."""
    res = subprocess.run([_espeak(), "-v", voice, "-s", str(speed), "-p", str(pitch),
                          "-g", str(_WORD_GAP), "--stdout", text], capture_output=True)
    if res.returncode != 0 or len(res.stdout) < 44 or res.stdout[:4] != b"RIFF":
        raise RuntimeError(f"espeak-ng -v {voice} -s {speed} -p {pitch} {text!r} failed "
                           f"(exit {res.returncode}): {res.stderr.decode(errors='replace')}")
    return np.frombuffer(res.stdout[44:len(res.stdout) - (len(res.stdout) - 44) % 2],
                         dtype="<i2")


def _spans(x: np.ndarray):
    """Non-silent spans ``(start, end)`` of ``x`` separated by at least the minimum pause."""
    idx = np.flatnonzero(np.abs(x.astype(np.int32)) > _SILENCE_LSB)
    if len(idx) == 0:
        return []
    cut = np.flatnonzero(np.diff(idx) > _MIN_PAUSE_S * ESPEAK_RATE)
    return list(zip(np.r_[idx[0], idx[cut + 1]], np.r_[idx[cut], idx[-1]] + 1))


@functools.lru_cache(maxsize=1)
def _resample_filter():
    """resample_poly's own default low-pass (Kaiser, beta 5), designed once."""
    from scipy.signal import firwin
    rate = max(SAMPLE_RATE, ESPEAK_RATE) // math.gcd(SAMPLE_RATE, ESPEAK_RATE)
    return firwin(2 * 10 * rate + 1, 1.0 / rate, window=("kaiser", 5.0))


def _trim(x: np.ndarray, start: int, end: int):
    """``(start, end)`` narrowed to the 10 ms frames within :data:`_TRIM_DB` of the span's
    loudest frame (drops the long echo tails of some variants)."""
    f = int(0.010 * ESPEAK_RATE)
    seg = x[start:end].astype(np.float64)
    n = len(seg) // f
    if n < 2:
        return start, end
    rms = np.sqrt(np.mean(seg[:n * f].reshape(n, f) ** 2, axis=1))
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (-_TRIM_DB / 20))
    return start + loud[0] * f, min(end, start + (loud[-1] + 1) * f)


def _to_16k(x: np.ndarray, start: int, end: int) -> np.ndarray:
    from scipy.signal import resample_poly
    start, end = _trim(x, start, end)
    m = int(_MARGIN_S * ESPEAK_RATE)
    seg = x[max(0, start - m):min(len(x), end + m)].astype(np.float64) / 32768.0
    g = math.gcd(SAMPLE_RATE, ESPEAK_RATE)
    y = resample_poly(seg, SAMPLE_RATE // g, ESPEAK_RATE // g, window=_resample_filter())
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)


def synthesize(call):
    """One espeak-ng call of :func:`sample_plan`: ``(words, respoken)``, ``words`` a list of
    16 kHz int16 arrays, one per word of the call, ``respoken`` how many words had to be
    spoken again one per call (the cut at silences did not give one piece per word)."""
    voice, speed, pitch, items = call
    text = " ".join(w + p for _, w, p in items)
    x = _speak(voice, speed, pitch, text)
    spans = _spans(x)
    if len(spans) == len(items):
        return [_to_16k(x, a, b) for a, b in spans], 0
    words = []
    for _, w, p in items:
        x = _speak(voice, speed, pitch, w + p)
        spans = _spans(x)
        if not spans:
            raise RuntimeError(f"espeak-ng -v {voice} said nothing for {w!r}")
        words.append(_to_16k(x, spans[0][0], spans[-1][1]))
    return words, len(items)


# -- clips ------------------------------------------------------------------------------------
def _unit_rms(x):
    r = np.sqrt(np.mean(x * x))
    return x / r if r > 0 else x


def _pink(rng, n):
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def _babble(rng, pool, talkers):
    out = np.zeros(CLIP_SAMPLES)
    for _ in range(talkers):
        run, n = [], 0
        while n < 2 * CLIP_SAMPLES:
            w = pool[int(rng.integers(len(pool)))].astype(np.float64)
            gap = np.zeros(int(rng.integers(0, SAMPLE_RATE // 10)))
            run += [_unit_rms(w), gap]
            n += len(w) + len(gap)
        run = np.concatenate(run)
        start = int(rng.integers(0, len(run) - CLIP_SAMPLES + 1))
        out += run[start:start + CLIP_SAMPLES]
    return out


def _clip(config, seed, split_id, i, word, pool, stats):
    """Sample ``i`` of a split: 1 s, 16 kHz, float64 in [-1, 1] on the 16-bit grid."""
    rng = _rng(seed, 3, split_id, i)
    level = rng.uniform(*config.level_db)
    snr = rng.uniform(*config.snr_db)
    kind = config.noise_kinds[int(rng.integers(len(config.noise_kinds)))]
    x = np.zeros(CLIP_SAMPLES)
    if word is not None:
        w = _unit_rms(word.astype(np.float64)) * 10 ** (level / 20)
        if len(w) > CLIP_SAMPLES:
            start = int(rng.integers(0, len(w) - CLIP_SAMPLES + 1))
            w = w[start:start + CLIP_SAMPLES]
            stats["truncated_words"] += 1
        shift = int(round(rng.uniform(-1.0, 1.0) * config.shift_ms * SAMPLE_RATE / 1000))
        off = min(max(0, (CLIP_SAMPLES - len(w)) // 2 + shift), CLIP_SAMPLES - len(w))
        x[off:off + len(w)] = w
    if kind == "white":
        noise = rng.standard_normal(CLIP_SAMPLES)
    elif kind == "pink":
        noise = _pink(rng, CLIP_SAMPLES)
    else:
        noise = _babble(rng, pool, config.babble_talkers)
    x += _unit_rms(noise) * 10 ** ((level - snr) / 20)
    if np.max(np.abs(x)) > 1.0:
        stats["clipped_clips"] += 1
    return np.round(np.clip(x, -1.0, 32767 / 32768) * 32768.0) / 32768.0


# -- features ---------------------------------------------------------------------------------
def mel_filterbank(n_mels=40, n_fft=512, f_min=20.0, f_max=8000.0, sample_rate=SAMPLE_RATE):
    """``(n_fft // 2 + 1, n_mels)`` triangular filters, centres equally spaced on the HTK mel
    scale ``2595 log10(1 + f / 700)`` between ``f_min`` and ``f_max``, peak 1."""
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)
    hz = lambda m: 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)
    edges = hz(np.linspace(mel(f_min), mel(f_max), n_mels + 2))
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    up = (freqs[:, None] - lo) / (mid - lo)
    down = (hi - freqs[:, None]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def log_mel(audio, config: KwsConfig = KwsConfig()):
    """Log-mel features of 1 s clips ``(n, 16000)``: ``(n, n_frames * n_mels)`` float32,
    frame-major (see the module's documentation)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[1] != CLIP_SAMPLES:
        raise ValueError(f"audio must have shape (n, {CLIP_SAMPLES}), not {audio.shape}")
    win, hop, nfr, nfft = config.window, config.hop, config.n_frames, config.n_fft
    frames = np.lib.stride_tricks.sliding_window_view(audio, win, axis=1)[:, ::hop][:, :nfr]
    window = np.hanning(win + 1)[:-1].astype(np.float32)        # periodic Hann
    spec = np.fft.rfft(frames * window, n=nfft, axis=-1).reshape(-1, nfft // 2 + 1)
    power = spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2
    fb = mel_filterbank(config.n_mels, nfft, config.f_min, config.f_max)
    feats = np.log(power @ fb + _LOG_FLOOR)
    return feats.reshape(len(audio), -1).astype(np.float32)


def select_features(x, y, n_features=1024, rule="f_score"):
    """Indices (ascending) of the ``n_features`` columns of ``x`` kept by ``rule``:
    ``"f_score"`` (largest ANOVA F over the classes ``y``) or ``"variance"`` (largest
    variance). Ties and undefined scores (constant columns) rank by index."""
    if rule == "f_score":
        from sklearn.feature_selection import f_classif
        with np.errstate(divide="ignore", invalid="ignore"):
            score, _ = f_classif(x, y)
    elif rule == "variance":
        score = np.var(x, axis=0)
    else:
        raise ValueError(f"rule must be one of {', '.join(PRUNE_RULES)}, not {rule!r}")
    score = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=-np.inf, posinf=np.inf)
    order = np.lexsort((np.arange(len(score)), -score))
    return np.sort(order[:n_features])


def fit_scaling(x, clip_percentile=0.5):
    """Per-feature ``(lo, hi)``: the ``clip_percentile`` and ``100 - clip_percentile``
    percentiles of ``x`` (a constant feature gets ``hi = lo + 1``)."""
    lo = np.percentile(x, clip_percentile, axis=0)
    hi = np.percentile(x, 100.0 - clip_percentile, axis=0)
    hi = np.where(hi > lo, hi, lo + 1.0)
    return lo.astype(np.float32), hi.astype(np.float32)


def apply_scaling(x, lo, hi):
    """``(clip((x - lo) / (hi - lo), 0, 1) as float32, fraction of clipped values)``."""
    v = (np.asarray(x, dtype=np.float64) - lo) / (hi - lo)
    clipped = float(np.mean((v < 0) | (v > 1))) if v.size else 0.0
    return np.clip(v, 0.0, 1.0).astype(np.float32), clipped


# -- generation -------------------------------------------------------------------------------
def _progress(iterable, desc, total, enabled):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr,
                mininterval=0.5)


def _check_installed(config):
    missing = sorted(set(config.variants) - installed_variants())
    if missing:
        raise RuntimeError(f"KwsConfig.variants: espeak-ng ({espeak_version()}) has no variant "
                           f"{', '.join(missing)} (espeak-ng --voices=variant lists them)")
    missing = sorted(set(config.languages) - installed_languages())
    if missing:
        raise RuntimeError(f"KwsConfig.languages: espeak-ng ({espeak_version()}) has no "
                           f"English voice {', '.join(missing)} (espeak-ng --voices=en)")


def _generate(config: KwsConfig, seed: int, progress: bool, workers: int):
    """Raw log-mel features of both splits and the plan; see :func:`kws_data`."""
    _check_installed(config)
    plan = sample_plan(config, seed)
    stats = {"respoken_words": 0, "truncated_words": 0, "clipped_clips": 0,
             "espeak_calls": 0}
    feats = {}
    for split_id, name in enumerate(("train", "test")):
        p = plan[name]
        n = len(p["labels"])
        words = [None] * n
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = pool.map(synthesize, p["calls"])
            for call, (audio, respoken) in _progress(
                    zip(p["calls"], results), f"kws: espeak-ng ({name})", len(p["calls"]),
                    progress):
                for (i, _, _), a in zip(call[3], audio):
                    words[i] = a
                stats["respoken_words"] += respoken
                stats["espeak_calls"] += 1 + respoken
        speech_pool = [w for w in words if w is not None]
        out = np.empty((n, config.n_raw_features), dtype=np.float32)
        chunk = 256
        for s in _progress(range(0, n, chunk), f"kws: clips and features ({name})",
                           -(-n // chunk), progress):
            idx = range(s, min(n, s + chunk))
            clips = np.stack([_clip(config, seed, split_id, i, words[i], speech_pool, stats)
                              for i in idx])
            out[s:s + len(idx)] = log_mel(clips, config)
        feats[name] = out
    return feats, plan, stats


def cache_key(config: KwsConfig, seed: int) -> str:
    """SHA-256 (hex) of :data:`FORMAT_VERSION`, the seed, every config field and espeak-ng's
    version."""
    if not isinstance(config, KwsConfig):
        raise TypeError(f"config must be a KwsConfig, not {config!r}")
    text = json.dumps({"format": FORMAT_VERSION, "seed": seed, "config": asdict(config),
                       "espeak": espeak_version()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_path(config: KwsConfig, seed: int = 0, cache_dir="build/kws") -> Path:
    return Path(cache_dir) / f"kws-{cache_key(config, seed)[:24]}.npz"


_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "voices_train", "voices_test",
           "words_train", "words_test", "feature_index", "scale_lo", "scale_hi")


def _load(path: Path, key: str):
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
        if str(stored["cache_key"]) != key:
            log.warning("cache file %s holds another data set (key mismatch): ignored", path)
            return None
        meta = json.loads(str(stored["meta"]))
        out = {k: stored[k] for k in _ARRAYS}
        out.update(meta)
        return out
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("cache file %s is unreadable (%s): ignored", path, exc)
        return None


def kws_data(seed: int = 0, cache_dir="build/kws", progress: bool = True,
             config: KwsConfig | None = None, workers: int | None = None) -> dict:
    """The KWS data set of ``config`` (default :class:`KwsConfig`) drawn from ``seed``.

    Returns a dict: ``x_train``, ``x_test`` (n, n_features) float32 in [0, 1]; ``y_train``,
    ``y_test`` (n,) int64 labels into ``classes``; ``voices_train``, ``voices_test`` (n,) str
    (``"language+variant"``, ``""`` for silence); ``words_train``, ``words_test`` (n,) str
    (the word said, ``""`` for silence); ``classes`` (the 12 names); ``feature_index`` (the
    kept columns of the raw log-mel features); ``scale_lo``, ``scale_hi`` (the scaling);
    ``clipped_train``, ``clipped_test`` (fractions of clipped feature values);
    ``generation_seconds``; ``stats`` (synthesis counts); ``seed``, ``config``; ``cached``
    (True when loaded from the cache) and ``cache_path`` (None without a ``cache_dir``).
    ``workers`` threads run espeak-ng (default: the number of CPUs, at most 4); it does not
    change the result."""
    seed = _check_int("seed", seed, 0, 2**32 - 1)
    config = KwsConfig() if config is None else config
    if not isinstance(config, KwsConfig):
        raise TypeError(f"config must be a KwsConfig, not {config!r}")
    workers = min(4, os.cpu_count() or 1) if workers is None else \
        _check_int("workers", workers, 1, 64)
    _espeak()
    key = path = None
    if cache_dir is not None:
        key = cache_key(config, seed)
        path = Path(cache_dir) / f"kws-{key[:24]}.npz"
        if path.is_file():
            out = _load(path, key)
            if out is not None:
                log.info("loaded cached KWS data set %s", path)
                out.update(classes=list(CLASSES), seed=seed, config=config, cached=True,
                           cache_path=str(path))
                return out
    t0 = time.perf_counter()
    feats, plan, stats = _generate(config, seed, progress, workers)
    y_tr, y_te = plan["train"]["labels"], plan["test"]["labels"]
    index = select_features(feats["train"], y_tr, config.n_features, config.prune)
    lo, hi = fit_scaling(feats["train"][:, index], config.clip_percentile)
    x_tr, clip_tr = apply_scaling(feats["train"][:, index], lo, hi)
    x_te, clip_te = apply_scaling(feats["test"][:, index], lo, hi)
    out = {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
           "voices_train": plan["train"]["voices"], "voices_test": plan["test"]["voices"],
           "words_train": plan["train"]["words"], "words_test": plan["test"]["words"],
           "feature_index": index.astype(np.int64), "scale_lo": lo, "scale_hi": hi}
    meta = {"clipped_train": clip_tr, "clipped_test": clip_te,
            "generation_seconds": time.perf_counter() - t0, "stats": stats}
    out.update(meta)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **{k: out[k] for k in _ARRAYS}, cache_key=np.array(key),
                            meta=np.array(json.dumps(meta)))
        os.replace(tmp, path)
        log.info("generated and cached KWS data set %s", path)
    out.update(classes=list(CLASSES), seed=seed, config=config, cached=False,
               cache_path=None if path is None else str(path))
    return out


# -- baseline and report ----------------------------------------------------------------------
def baseline(data: dict, model: str = "logreg", seed: int = 0) -> float:
    """Float test accuracy of a scikit-learn classifier trained on ``data``'s training set:
    ``"logreg"`` (multinomial logistic regression, C = 0.1) or ``"mlp"`` (1024 -> 256 -> 12,
    ReLU, L2 1e-3, Adam, 60 epochs)."""
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    if model == "logreg":
        from sklearn.linear_model import LogisticRegression
        clf = LogisticRegression(C=0.1, max_iter=300)
    elif model == "mlp":
        from sklearn.neural_network import MLPClassifier
        clf = MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-3, max_iter=60,
                            random_state=seed)
    else:
        raise ValueError(f"model must be 'logreg' or 'mlp', not {model!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(data["x_train"], data["y_train"])
    return float(np.mean(clf.predict(data["x_test"]) == data["y_test"]))


def _report(data: dict, models) -> None:
    n_tr, n_te = len(data["y_train"]), len(data["y_test"])
    vtr = {v for v in data["voices_train"] if v}
    vte = {v for v in data["voices_test"] if v}
    c = data["config"]
    print(f"KWS data set (seed {data['seed']}): {n_tr} train / {n_te} test samples, "
          f"{data['x_train'].shape[1]} features of {c.n_raw_features} "
          f"({c.n_frames} frames x {c.n_mels} mel bands, pruned by {c.prune})")
    print(f"voices: {len(vtr)} train / {len(vte)} test heard "
          f"({len(c.languages)} languages x {len(c.variants) - c.n_test_variants} / "
          f"{c.n_test_variants} variants), shared: {len(vtr & vte)}")
    btr = np.bincount(data["y_train"], minlength=len(CLASSES))
    bte = np.bincount(data["y_test"], minlength=len(CLASSES))
    print("class balance (train / test): "
          + ", ".join(f"{n} {a}/{b}" for n, a, b in zip(CLASSES, btr, bte)))
    print(f"clipped feature values: {100 * data['clipped_train']:.2f} % train, "
          f"{100 * data['clipped_test']:.2f} % test")
    gen = f"{data['generation_seconds']:.1f} s"
    print(f"generation time: {gen}" + (" (loaded from cache " + data["cache_path"] + ")"
                                       if data["cached"] else "")
          + f"; synthesis: {data['stats']}")
    if data["cache_path"]:
        print(f"cache: {data['cache_path']} ({os.path.getsize(data['cache_path']) / 1e6:.1f} MB)")
    se = math.sqrt(0.86 * 0.14 / n_te)
    for m in models:
        t = time.perf_counter()
        acc = baseline(data, m)
        print(f"baseline {m}: float test accuracy {100 * acc:.2f} % (chance "
              f"{100 / len(CLASSES):.1f} %, standard error at 86 %: {100 * se:.2f} points; "
              f"{time.perf_counter() - t:.1f} s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mapper.kws", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default="build/kws")
    ap.add_argument("--no-cache", action="store_true", help="generate without reading or "
                    "writing the cache")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--baseline", choices=("logreg", "mlp", "both", "none"), default="mlp",
                    help="float baseline on the 1024 features (logreg: a few minutes)")
    ap.add_argument("--prune", choices=PRUNE_RULES, default=KwsConfig.prune)
    args = ap.parse_args(argv)
    if not 0 <= args.seed <= 2**32 - 1:
        ap.error(f"--seed must be in [0, {2**32 - 1}], not {args.seed}")
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    data = kws_data(args.seed, None if args.no_cache else args.cache_dir,
                    progress=not args.no_progress, config=KwsConfig(prune=args.prune))
    models = {"both": ("logreg", "mlp"), "none": ()}.get(args.baseline, (args.baseline,))
    _report(data, models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
