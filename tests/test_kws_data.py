"""The synthesized keyword-spotting data set (mapper.kws) on a tiny configuration: two
languages x four variants (two of them in the test set), a few dozen samples. espeak-ng is part
of the kit's set-up (`make setup`), so these tests fail, not skip, when it is missing."""
import logging
import shutil

import numpy as np
import pytest

from mapper import kws
from mapper.kws import CLASSES, KwsConfig, kws_data

TINY = KwsConfig(n_train=36, n_test=24, languages=("en-us", "en"),
                 variants=("Alex", "f2", "m3", "whisper"), test_fraction=0.5,
                 words_per_call=6, unknown_words=("bed", "marvin", "sheila"), n_features=256)


def test_espeak_ng_is_installed():
    assert shutil.which("espeak-ng"), "espeak-ng is missing: run `make setup`"
    assert "eSpeak NG" in kws.espeak_version()
    assert set(KwsConfig().variants) <= kws.installed_variants()


@pytest.fixture(scope="module")
def tiny():
    return kws_data(seed=3, cache_dir=None, progress=False, config=TINY)


def test_shapes_ranges_and_labels(tiny):
    d = tiny
    assert d["classes"] == list(CLASSES) and len(CLASSES) == 12
    for split, n in (("train", TINY.n_train), ("test", TINY.n_test)):
        x, y = d[f"x_{split}"], d[f"y_{split}"]
        assert x.shape == (n, TINY.n_features) and x.dtype == np.float32
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert y.shape == (n,) and y.dtype == np.int64
        # balanced over the 12 classes
        assert np.array_equal(np.bincount(y, minlength=12), np.full(12, n // 12))
        voices, words = d[f"voices_{split}"], d[f"words_{split}"]
        assert voices.shape == words.shape == (n,)
        # silence has neither voice nor word, every other sample both
        assert np.all((voices == "") == (y == CLASSES.index("silence")))
        for w, k in zip(words, y):
            if k < 10:
                assert w == CLASSES[k]
            elif k == 10:
                assert w in TINY.unknown_words
    assert d["feature_index"].shape == (TINY.n_features,)
    assert np.all(np.diff(d["feature_index"]) > 0)
    assert d["feature_index"].max() < TINY.n_raw_features == 98 * 40
    assert 0.0 < d["clipped_train"] < 0.1 and 0.0 <= d["clipped_test"] < 0.25
    assert d["stats"]["espeak_calls"] >= -(-(TINY.n_train * 11 // 12) // TINY.words_per_call)
    assert d["cached"] is False and d["cache_path"] is None


def test_train_and_test_voices_are_disjoint(tiny):
    train = {v for v in tiny["voices_train"] if v}
    test = {v for v in tiny["voices_test"] if v}
    assert train and test and not train & test
    # split by variant: no test variant is heard in training, in any language
    assert not {v.split("+")[1] for v in train} & {v.split("+")[1] for v in test}
    tr, te = kws.split_voices(TINY, seed=3)
    assert train <= set(tr) and test <= set(te) and len(te) == 2 * 2


def test_deterministic_from_the_seed(tiny):
    again = kws_data(seed=3, cache_dir=None, progress=False, config=TINY, workers=1)
    for k in ("x_train", "y_train", "x_test", "y_test", "voices_train", "voices_test",
              "words_train", "words_test", "feature_index", "scale_lo", "scale_hi"):
        assert np.array_equal(tiny[k], again[k]), k
    other = kws.sample_plan(TINY, seed=4)
    assert not np.array_equal(other["train"]["labels"], tiny["y_train"])


def test_cache_second_call_loads(tmp_path, caplog):
    config = TINY.replace(n_train=24, n_test=12)
    with caplog.at_level(logging.INFO, logger="mapper.kws"):
        first = kws_data(seed=1, cache_dir=tmp_path, progress=False, config=config)
        assert first["cached"] is False
        path = kws.cache_path(config, 1, tmp_path)
        assert first["cache_path"] == str(path) and path.is_file()
        assert "generated and cached KWS data set" in caplog.text
        second = kws_data(seed=1, cache_dir=tmp_path, progress=False, config=config)
    assert second["cached"] is True and "loaded cached KWS data set" in caplog.text
    for k in ("x_train", "y_train", "x_test", "y_test", "voices_train", "voices_test",
              "feature_index"):
        assert np.array_equal(first[k], second[k]), k
    assert second["stats"] == first["stats"]
    assert second["generation_seconds"] == first["generation_seconds"]
    # another seed or config is another file
    assert kws.cache_path(config, 2, tmp_path) != path
    assert kws.cache_path(config.replace(snr_db=(0.0, 10.0)), 1, tmp_path) != path
    # a file holding another key is ignored (regenerated)
    other = kws.cache_path(config, 2, tmp_path)
    shutil.copy(path, other)
    third = kws_data(seed=2, cache_dir=tmp_path, progress=False, config=config)
    assert third["cached"] is False and "key mismatch" in caplog.text


def test_default_config_plan():
    """The default set, planned without synthesis: 12 balanced classes in both splits, enough
    test samples for a standard error below 1 point at 86 %, voices disjoint."""
    c = KwsConfig()
    assert c.n_raw_features == 3920 and c.n_features == 1024
    assert c.n_test * 0.01 ** 2 >= 0.86 * 0.14
    plan = kws.sample_plan(c, seed=0)
    for split in ("train", "test"):
        counts = np.bincount(plan[split]["labels"], minlength=12)
        assert len(counts) == 12 and counts.min() == counts.max() > 0
        words = set(plan[split]["words"])
        assert set(kws.KEYWORDS) <= words and len(words & set(c.unknown_words)) > 10
    tr, te = set(plan["train"]["voice_set"]), set(plan["test"]["voice_set"])
    assert not tr & te and len(te) == len(c.languages) * c.n_test_variants
    assert len(tr) + len(te) == len(c.languages) * len(c.variants)


def test_log_mel_features():
    c = KwsConfig()
    t = np.arange(kws.CLIP_SAMPLES) / kws.SAMPLE_RATE
    tone = 0.1 * np.sin(2 * np.pi * 1000.0 * t)
    f = kws.log_mel(np.stack([tone, np.zeros_like(tone)]), c).reshape(2, 98, 40)
    centres = np.linspace(2595 * np.log10(1 + 20 / 700), 2595 * np.log10(1 + 8000 / 700), 42)
    band = int(np.argmin(np.abs(700 * (10 ** (centres[1:-1] / 2595) - 1) - 1000.0)))
    assert np.all(f[0].argmax(axis=1) == band)
    assert np.allclose(f[1], np.log(1e-10), atol=1e-3)
    with pytest.raises(ValueError, match="shape"):
        kws.log_mel(np.zeros((2, 100)), c)
    lo, hi = kws.fit_scaling(np.array([[0.0, 1.0], [10.0, 1.0]]), 0.0)
    x, clipped = kws.apply_scaling(np.array([[5.0, 1.0], [20.0, 1.0]]), lo, hi)
    assert np.allclose(x, [[0.5, 0.0], [1.0, 0.0]]) and clipped == 0.25


@pytest.mark.parametrize("field, value, exc, text", [
    ("n_train", 5, ValueError, "KwsConfig.n_train must be an integer in [12, 1000000], not 5"),
    ("n_test", 1.5, TypeError, "KwsConfig.n_test must be an integer"),
    ("test_fraction", 1.0, ValueError, "KwsConfig.test_fraction must be a finite real number "
                                       "in (0.0, 1.0), not 1.0"),
    ("test_fraction", 0.001, ValueError, "gives 0 of 101 variants"),
    ("speed_wpm", (200, 100), ValueError, "KwsConfig.speed_wpm must be a pair (low, high) "
                                          "with low <= high"),
    ("speed_wpm", (50, 100), ValueError, "KwsConfig.speed_wpm[0] must be an integer in "
                                         "[80, 450], not 50"),
    ("pitch", 50, TypeError, "KwsConfig.pitch must be a pair"),
    ("snr_db", (0.0, float("nan")), ValueError, "KwsConfig.snr_db[1] must be a finite"),
    ("noise_kinds", ("white", "brown"), ValueError, "KwsConfig.noise_kinds holds 'brown'"),
    ("unknown_words", ("bed", "yes"), ValueError, "must not hold a keyword"),
    ("variants", ("Alex",), ValueError, "KwsConfig.variants must hold at least 2"),
    ("languages", "en-us", TypeError, "KwsConfig.languages must be a tuple of strings"),
    ("languages", ("en us",), ValueError, "KwsConfig.languages must hold names"),
    ("n_features", 4000, ValueError, "KwsConfig.n_features must be an integer in [1, 3920], "
                                     "not 4000"),
    ("prune", "random", ValueError, "KwsConfig.prune must be one of f_score, variance, "
                                    "not 'random'"),
    ("clip_percentile", 50.0, ValueError, "KwsConfig.clip_percentile must be"),
    ("hop_ms", 30.0, ValueError, "KwsConfig.hop_ms must be a finite real number in "
                                 "[1.0, 25.0], not 30.0"),
    ("shift_ms", -1.0, ValueError, "KwsConfig.shift_ms must be"),
])
def test_config_validation(field, value, exc, text):
    with pytest.raises(exc) as info:
        KwsConfig(**{field: value})
    assert text in str(info.value)


def test_kws_data_argument_errors():
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 4294967295\], not -1"):
        kws_data(seed=-1, cache_dir=None)
    with pytest.raises(TypeError, match="config must be a KwsConfig"):
        kws_data(cache_dir=None, config={"n_train": 12})
    with pytest.raises(ValueError, match=r"workers must be an integer in \[1, 64\], not 0"):
        kws_data(cache_dir=None, config=TINY, workers=0)
    with pytest.raises(RuntimeError, match="KwsConfig.variants: .* has no variant nosuchvoice"):
        kws_data(cache_dir=None, progress=False,
                 config=TINY.replace(variants=("Alex", "nosuchvoice")))
