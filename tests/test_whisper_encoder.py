"""The PyTorch Whisper encoder: CTranslate2 weights, equality with CTranslate2 on a padded window,
exact-length encoding, where its states sit in time, and the once-only weights checksum."""

import importlib.util
import json
import os

import numpy as np
import pytest

from dreamtalk.core.errors import InputError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("faster_whisper") is None, reason="whisper extra not installed")
RATE = 16000


@pytest.fixture(scope="module")
def whisper():
    from dreamtalk.features import whisper

    return whisper


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Vowel-like harmonic bursts with pauses (enough structure for the encoder to react to)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    buzz = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / RATE) / k for k in range(1, 12))
    envelope = (np.sin(2 * np.pi * 2.5 * t) > -0.2).astype(float)
    return (0.2 * envelope * buzz + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def test_ct2_reader_finds_the_encoder_and_refuses_other_files(whisper, tmp_path):
    from dreamtalk.features.ct2_weights import read_ct2

    tensors = read_ct2(whisper.model_dir() / "model.bin", prefix="encoder/")
    assert tensors["encoder/conv1/weight"].shape == (512, 80, 3)
    assert tensors["encoder/position_encodings/encodings"].shape == (1500, 512)
    assert sum(name.startswith("encoder/layer_5/") for name in tensors) > 0
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(InputError):
        read_ct2(bad)


def test_torch_encoder_matches_ctranslate2_on_a_padded_window(whisper):
    audio = speechlike(3.0)
    reference = whisper.encode_ct2(audio)
    ours = whisper.encode(audio, whisper.VERSION_PADDED)
    assert ours.shape == reference.shape == (150, 512)
    assert np.abs(ours - reference).max() < 5e-3 * np.abs(reference).max()
    assert np.sqrt(((ours - reference) ** 2).mean() / (reference**2).mean()) < 1e-4


def test_exact_length_encoding_gives_one_state_per_20_ms_and_equal_pieces(whisper):
    assert whisper.encode(speechlike(2.01), whisper.VERSION_EXACT).shape == (101, 512)
    pieces = whisper.pieces(61 * RATE, padded=False)
    sizes = [end - start for start, end in pieces]
    assert len(pieces) == 3 and pieces[-1][1] == 61 * RATE and max(sizes) <= 30 * RATE
    assert all(size % 320 == 0 for size in sizes[:-1]) and max(sizes) - min(sizes) < 2 * 320
    assert whisper.pieces(61 * RATE, padded=True)[0] == (0, 30 * RATE)


def test_exact_states_are_placed_at_their_receptive_field_centre(whisper):
    """A click at time t moves the convolution stage's state j = round(t * 50) most, and `state_centres`
    of the exact version places that state within 5 ms of t. (The padded version keeps its original
    placement, 10 ms late, for the shipped models: it assumed state j covers [j, j+1) / 50 s.)"""
    import torch
    from torch.nn import functional as F

    encoder = whisper.torch_encoder()
    base = 0.01 * np.random.default_rng(0).standard_normal(3 * RATE).astype(np.float32)
    base[3200:6400] += 0.9 * np.sin(2 * np.pi * 440 * np.arange(3200) / RATE)  # keeps the mel maximum fixed

    def conv_states(audio):
        with torch.inference_mode():
            mel = encoder.log_mel(torch.from_numpy(np.pad(audio, (0, 160)))[None])[:, :, :300]
            return F.gelu(encoder.conv2(F.gelu(encoder.conv1(mel))))[0].T.numpy()  # (150, 512)

    reference = conv_states(base)
    for click_time in (0.9, 1.122, 1.5, 1.718, 2.26):
        clicked = base.copy()
        start = int(click_time * RATE) - 16
        clicked[start: start + 32] += 0.3 * np.hanning(32)
        change = np.linalg.norm(conv_states(clicked) - reference, axis=1)
        placed = whisper.state_centres(len(change), whisper.VERSION_EXACT)[np.argmax(change)]
        assert abs(placed - click_time) <= 0.005 + 1e-9
    late = whisper.state_centres(5, whisper.VERSION_PADDED) - whisper.state_centres(5, whisper.VERSION_EXACT)
    assert np.allclose(late, 0.010)


def test_weights_are_hashed_once_then_trusted_until_the_file_changes(whisper, tmp_path, monkeypatch):
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    monkeypatch.setattr(whisper, "MODEL_SHA256", whisper.sha256(model))
    calls = []
    real_sha = whisper.sha256
    monkeypatch.setattr(whisper, "sha256", lambda path: calls.append(path) or real_sha(path))
    assert whisper.verified(model) and len(calls) == 1
    assert whisper.verified(model) and len(calls) == 1  # the stamp answers
    assert json.loads((tmp_path / "model.bin.sha256").read_text())["sha256"] == whisper.MODEL_SHA256
    model.write_bytes(b"weightz")  # same size, new content
    os.utime(model, ns=(1, 1))
    assert not whisper.verified(model) and len(calls) == 2
    assert not whisper.verified(tmp_path / "missing.bin")


def test_checkpoint_tags_pick_the_whisper_version_and_unknown_ones_are_refused(whisper):
    from dreamtalk.features import by_tag

    assert by_tag("whisper-base-ct2-1").tag == "whisper-base-ct2-1"
    assert by_tag("whisper-base-2").tag == "whisper-base-2"
    with pytest.raises(InputError):
        by_tag("whisper-base-9")


def test_pieces_of_one_length_are_encoded_as_one_batch_with_the_same_states(whisper):
    encoder = whisper.torch_encoder("cpu")
    a, b, c = speechlike(2.0, 1), speechlike(2.0, 2), speechlike(1.0, 3)
    batched = encoder.encode_pieces([a, b, c])
    for piece, states in zip((a, b, c), batched):
        np.testing.assert_allclose(states, encoder.encode(piece), atol=1e-4 * np.abs(states).max())
    assert [s.shape[0] for s in batched] == [100, 100, 50]


def test_exported_encoder_weights_give_the_same_features_without_model_bin(whisper, tmp_path, monkeypatch):
    """A GPU server without the whisper extra runs the encoder from its weights alone (float16 as stored,
    so the features are the same); a file that is not such an export is refused in one line."""
    path = whisper.export_encoder(tmp_path / "encoder.pt")
    assert 35e6 < path.stat().st_size < 50e6
    audio = speechlike(3.0)
    expected = whisper.encode(audio, whisper.VERSION_EXACT)
    monkeypatch.setenv(whisper.ENCODER_ENV, str(path))
    monkeypatch.setattr(whisper, "model_dir", lambda: pytest.fail("model.bin must not be needed"))
    whisper.torch_encoder.cache_clear()
    try:
        fe = whisper.frontend(whisper.VERSION_EXACT)
        assert np.array_equal(whisper.encode(audio, whisper.VERSION_EXACT), expected)
        assert fe(audio, RATE, 25.0, 75).shape == (75, 512)
        import torch

        torch.save({"kind": "something else"}, tmp_path / "other.pt")
        monkeypatch.setenv(whisper.ENCODER_ENV, str(tmp_path / "other.pt"))
        whisper.torch_encoder.cache_clear()
        with pytest.raises(InputError, match="does not hold the encoder weights"):
            whisper.encode(audio)
    finally:
        whisper.torch_encoder.cache_clear()
