"""Lip refiner: sliding windows and blending, network, checkpoints, training, engine wiring."""

import numpy as np
import pytest
import torch

from dreamtalk.cli import main
from dreamtalk.core.arkit import MOUTH, indices
from dreamtalk.core.curves import Curves
from dreamtalk.core.errors import InputError
from dreamtalk.core.request import GenerateRequest
from dreamtalk.engines import generate
from dreamtalk.evaluation.lipsync import lip_gap
from dreamtalk.corpus.synthetic import buzz_utterance
from dreamtalk.engines.installed import EMODIFF_ENV, LIP_ENV
from dreamtalk.features import by_tag as front_end
from dreamtalk.models.lip.config import LipRefinerConfig, LipTrainConfig
from dreamtalk.models.lip.data import LipWindowSampler, perturb
from dreamtalk.models.lip.model import MOUTH_INDEX, LipModel
from dreamtalk.models.lip.network import LipRefiner
from dreamtalk.models.lip.refine import refine
from dreamtalk.models.lip.train import lip_loss, new_model, torch_lip_gap, train
from dreamtalk.models.windows import blend, blend_weights, cut, window_starts
from emodiff_fixtures import tiny_clips, tiny_model

M = len(MOUTH)


class FrameWise(torch.nn.Module):
    """A dummy refiner whose output at a frame depends only on that frame's inputs."""

    def __init__(self, cfg: LipRefinerConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, audio, mouth, style):
        c = self.cfg.audio_context
        centre = audio[:, c: audio.shape[1] - c, :1]
        return 0.5 * mouth + 0.1 * centre + 0.01 * style.mean(dim=(1, 2))[:, None, None]


def tiny_lip(net_cls=LipRefiner, seed=0, **kw) -> LipModel:
    torch.manual_seed(seed)
    base = dict(audio_dim=6, hidden=16, lstm_layers=1, style_frames=8)
    base.update(kw)
    cfg = LipRefinerConfig(**base)
    return LipModel(net_cls(cfg), np.full(55, 0.3, np.float32), np.full(55, 0.2, np.float32), "logmel-1")


@pytest.mark.parametrize("frames", [1, 5, 8, 9, 37, 100])
@pytest.mark.parametrize("window,overlap", [(8, 4), (8, 0), (8, 6), (5, 2)])
def test_window_stitching_reproduces_a_frame_wise_net_exactly(frames, window, overlap):
    model = tiny_lip(FrameWise, window=window, overlap=overlap, audio_context=3)
    rng = np.random.default_rng(frames)
    x = rng.uniform(0.1, 0.9, (frames, 55)).astype(np.float32)
    feats = rng.normal(size=(frames, 6)).astype(np.float32)
    style = rng.uniform(0, 1, (8, 55)).astype(np.float32)
    out = refine(model, feats, x, style)
    z = (x - 0.3) / 0.2
    s = ((style - 0.3) / 0.2).mean()
    expected = np.clip((0.5 * z[:, MOUTH_INDEX] + 0.1 * feats[:, :1] + 0.01 * s) * 0.2 + 0.3, 0, 1)
    assert np.abs(out[:, MOUTH_INDEX] - expected).max() < 1e-5
    others = np.setdiff1d(np.arange(55), MOUTH_INDEX)
    assert np.array_equal(out[:, others], x[:, others])  # only the mouth group is touched


@pytest.mark.parametrize("frames,window,overlap", [(3, 8, 4), (8, 8, 4), (37, 8, 4), (100, 8, 2), (50, 8, 7)])
def test_windows_cover_every_frame_and_blend_constants_exactly(frames, window, overlap):
    starts = window_starts(frames, window, overlap)
    covered = np.zeros(max(frames, window), int)
    for s in starts:
        covered[s: s + window] += 1
    assert covered[:frames].min() >= 1 and starts[-1] + window >= frames
    assert all(b - a == window - overlap for a, b in zip(starts, starts[1:-1]))
    assert (blend_weights(window, overlap) > 0).all()
    values = np.full((len(starts), window, 3), 0.7, np.float32)
    assert np.allclose(blend(values, starts, frames, overlap), 0.7, atol=1e-6)
    seq = np.arange(frames, dtype=np.float32)[:, None]
    windows = cut(seq, starts, window, context=2)
    assert windows.shape == (len(starts), window + 4, 1)
    assert windows[0, 0, 0] == 0.0 and windows[-1, -1, 0] == frames - 1  # edge padding
    with pytest.raises(ValueError, match="overlap"):
        window_starts(20, 8, 8)


def test_untrained_refiner_is_the_identity():
    model = tiny_lip()
    x = np.random.default_rng(0).uniform(0.1, 0.9, (40, 55)).astype(np.float32)
    feats = np.random.default_rng(1).normal(size=(40, 6)).astype(np.float32)
    assert np.allclose(refine(model, feats, x, x[:8]), x, atol=1e-6)  # zero-initialised correction


def test_torch_lip_gap_matches_the_evaluation_metric():
    values = np.random.default_rng(2).uniform(0, 1, (30, 52)).astype(np.float32)
    mouth = torch.from_numpy(values[:, indices(MOUTH)])
    assert np.allclose(torch_lip_gap(mouth).numpy(), lip_gap(values), atol=1e-6)


def test_perturbation_stays_in_range_and_softens_closures():
    rng = np.random.default_rng(0)
    t = np.arange(60)
    mouth = np.zeros((60, M), np.float32)
    mouth[:, MOUTH.index("jawOpen")] = 0.5 + 0.5 * np.sign(np.sin(t / 3))  # hard closures (0) and opens (1)
    cfg = LipTrainConfig(blur_frames=2.0, max_shift=0, noise=0.0)
    softened = [perturb(mouth, np.random.default_rng(s), cfg) for s in range(20)]
    assert all(0.0 <= p.min() and p.max() <= 1.0 for p in softened)
    assert np.mean([p[:, MOUTH.index("jawOpen")].min() for p in softened]) > 0.0
    assert perturb(mouth, rng, LipTrainConfig()).shape == mouth.shape


def test_training_windows_pair_inputs_with_label_targets():
    clips = tiny_clips(count=4, frames=40)
    cfg = LipRefinerConfig(audio_dim=6, style_frames=8)
    generated = [c.x + 0.05 for c in clips]
    sampler = LipWindowSampler(clips, cfg, LipTrainConfig(p_generated=1.0), np.zeros(55, np.float32),
                               np.ones(55, np.float32), generated)
    batch = sampler.batch(np.random.default_rng(0), 16)
    assert batch["audio"].shape == (16, 16, 6) and batch["style"].shape == (16, 8, 55)
    assert batch["mouth"].shape == batch["target"].shape == (16, 8, M)
    assert torch.allclose(batch["mouth"], batch["target"] + 0.05, atol=1e-5)  # generated takes used as input



def test_clean_inputs_and_audio_noise():
    clips = tiny_clips(count=4, frames=40)
    cfg = LipRefinerConfig(audio_dim=6, style_frames=8)
    stats = np.zeros(55, np.float32), np.ones(55, np.float32)

    def batch(**options):
        sampler = LipWindowSampler(clips, cfg, LipTrainConfig(noise=0.01, **options), *stats)
        return sampler.batch(np.random.default_rng(0), 256)

    clean = batch(p_clean=1.0, audio_noise=0.0)  # every input is the label, only noise added
    err = (clean["mouth"] - clean["target"]).abs()
    assert err.max() < 0.06 and 0.003 < err.mean() < 0.012
    quiet, noisy = batch(p_clean=1.0, audio_noise=0.0), batch(p_clean=1.0, audio_noise=0.5)
    feature_std = np.concatenate([c.features for c in clips]).std(0)
    measured = (noisy["audio"] - quiet["audio"]).numpy().reshape(-1, 6).std(0)  # same rng: only the noise differs
    assert np.allclose(measured, 0.5 * feature_std, rtol=0.1)


def test_tiny_training_lowers_the_loss_and_resumes(tmp_path):
    clips = tiny_clips(count=6, frames=60)
    out = tmp_path / "lip.pt"
    cfg = LipRefinerConfig(audio_dim=6, hidden=24, lstm_layers=1, style_frames=8)
    tcfg = LipTrainConfig(steps=300, batch=32, lr=3e-3, log_every=10, save_every=100)  # default loss terms
    torch.manual_seed(tcfg.seed)
    untrained = new_model(clips, LipRefinerConfig(**vars(cfg)), "logmel-1")
    fixed = LipWindowSampler(clips, untrained.cfg, tcfg, untrained.mean, untrained.std).batch(
        np.random.default_rng(123), 256)  # the same windows, perturbations and noise before and after
    trained = train(clips, out, "logmel-1", cfg, tcfg)
    with torch.no_grad():
        before, after = float(lip_loss(untrained, fixed, tcfg)), float(lip_loss(trained, fixed, tcfg))
    assert after < 0.8 * before
    tcfg.steps = 310
    model = train(clips, out, "logmel-1", cfg, tcfg)
    payload = torch.load(out, weights_only=True)
    assert payload["step"] == 310 and len(payload["losses"]) == 310
    loaded = LipModel.load(out)
    x, feats = clips[0].x, clips[0].features
    assert np.array_equal(refine(loaded, feats, x, x[:8]), refine(model, feats, x, x[:8]))
    assert loaded.cfg == model.cfg and loaded.front_end == "logmel-1" and loaded.labels is None  # not given


def test_checkpoints_record_the_labels_they_learned_from(tmp_path):
    """Label settings (`LabelConfig.header()`) ride in every checkpoint of a new run and survive a resume;
    a file without them loads with None; the shipped refiner learned closures on the phones only."""
    from dreamtalk.corpus.labels import LabelConfig
    from dreamtalk.engines.installed import installed_refiner

    clips = tiny_clips(count=4, frames=40)
    cfg = LipRefinerConfig(audio_dim=6, hidden=8, lstm_layers=1, style_frames=8)
    tcfg = LipTrainConfig(steps=2, batch=8, save_every=2)
    labels = LabelConfig(closure_hold=0.0).header()
    out = tmp_path / "lip.pt"
    assert train(clips, out, "logmel-1", cfg, tcfg, labels=labels).labels == labels
    tcfg.steps = 4
    assert train(clips, out, "logmel-1", cfg, tcfg, labels=None).labels == labels  # resumed: the run's own
    assert LipModel.load(out).labels == labels
    payload = LipModel.load(out).to_dict()
    del payload["labels"]
    torch.save(payload, tmp_path / "old.pt")
    assert LipModel.load(tmp_path / "old.pt").labels is None
    shipped = installed_refiner()
    assert shipped is not None and shipped.labels == {"label_timing": "aligned", "label_blinks": False,
                                                      "label_closure_hold": 0.0}


def test_bad_lip_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        LipModel.load(tmp_path / "none.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable lip refiner checkpoint"):
        LipModel.load(junk)
    model = tiny_lip()
    for change, message in [({"kind": "emodiff"}, "not a lip refiner"), ({"format_version": 99}, "format 99"),
                            ({"refined_names": ["jawOpen"]}, "mouth group")]:
        payload = model.to_dict()
        payload.update(change)
        path = tmp_path / "bad.pt"
        torch.save(payload, path)
        with pytest.raises(InputError, match=message) as err:
            LipModel.load(path)
        assert "\n" not in str(err.value)


@pytest.fixture()
def installed(tmp_path, monkeypatch):
    dim = front_end("logmel-1").dim
    emodiff_path, lip_path = tmp_path / "emodiff.pt", tmp_path / "lip.pt"
    tiny_model(audio_dim=dim).save(emodiff_path)
    lip = tiny_lip(audio_dim=dim)
    torch.nn.init.normal_(lip.net.fuse[-1].weight, std=0.5)  # a refiner that visibly changes the mouth
    lip.save(lip_path)
    monkeypatch.setenv(EMODIFF_ENV, str(emodiff_path))
    monkeypatch.setenv(LIP_ENV, str(lip_path))
    return lip_path


def _request(**kw):
    audio, rate, _ = buzz_utterance(4, seed=3)
    return GenerateRequest(audio=audio, sample_rate=rate, engine="emodiff", steps=3, **kw)


def test_no_refine_returns_emodiff_curves_unchanged(installed, monkeypatch):
    refined = generate(_request(emotion="happy", refine=True))[0]
    plain = generate(_request(emotion="happy", refine=False))[0]
    assert np.array_equal(generate(_request(emotion="happy"))[0].values, refined.values)  # on by default
    monkeypatch.setenv(LIP_ENV, "off")
    emodiff_only = generate(_request(emotion="happy", refine=True))[0]
    assert np.array_equal(plain.values, emodiff_only.values)
    assert np.array_equal(plain.head_pose, emodiff_only.head_pose)
    mouth = indices(MOUTH)
    others = np.setdiff1d(np.arange(52), mouth)
    assert np.array_equal(refined.values[:, others], plain.values[:, others])
    assert np.abs(refined.values[:, mouth] - plain.values[:, mouth]).max() > 1e-3


def test_refinement_keeps_locked_frames(installed):
    plain = generate(_request(emotion="happy", refine=False))[0]
    rng = np.random.default_rng(0)
    take = Curves(25.0, rng.uniform(0, 1, plain.values.shape).astype(np.float32), plain.head_pose.copy())
    mask = np.zeros(plain.num_frames, bool)
    mask[20:45] = True
    refined = generate(_request(emotion="happy", locked=take, locked_mask=mask))[0]
    emodiff_only = generate(_request(emotion="happy", locked=take, locked_mask=mask, refine=False))[0]
    assert np.abs(refined.values[mask] - take.values[mask]).max() < 1e-3  # the refiner left them alone
    mouth = indices(MOUTH)
    others = np.setdiff1d(np.arange(52), mouth)
    assert np.array_equal(refined.values[:, others], emodiff_only.values[:, others])
    free = ~mask
    assert np.abs(refined.values[free][:, mouth] - emodiff_only.values[free][:, mouth]).max() > 1e-3


def test_cli_refine_flags(installed, tmp_path):
    import soundfile as sf

    from dreamtalk.core.formats import read_curves

    audio, rate, _ = buzz_utterance(4, seed=3)
    wav = tmp_path / "a.wav"
    sf.write(wav, audio, rate)
    base = ["generate", str(wav), "--engine", "emodiff", "--steps", "3"]
    assert main([*base, "--refine", "-o", str(tmp_path / "r.json")]) == 0
    assert main([*base, "--no-refine", "-o", str(tmp_path / "n.json")]) == 0
    assert main([*base, "-o", str(tmp_path / "d.json")]) == 0
    assert np.array_equal(read_curves(tmp_path / "d.json").values, read_curves(tmp_path / "r.json").values)  # default on
    refined, plain = read_curves(tmp_path / "r.json"), read_curves(tmp_path / "n.json")
    mouth = indices(MOUTH)
    assert np.abs(refined.values[:, mouth] - plain.values[:, mouth]).max() > 1e-3
    others = np.setdiff1d(np.arange(52), mouth)
    assert np.allclose(refined.values[:, others], plain.values[:, others], atol=1e-6)


def test_missing_named_lip_checkpoint_is_one_line(installed, monkeypatch, tmp_path):
    monkeypatch.setenv(LIP_ENV, str(tmp_path / "gone.pt"))
    with pytest.raises(InputError, match="lip refiner checkpoint not found") as err:
        generate(_request(refine=True))
    assert "\n" not in str(err.value)


def test_cli_train_lip_with_emodiff_takes_and_export(tmp_path, capsys, installed):
    corpus = tmp_path / "corpus"
    assert main(["train", "smoke-corpus", str(corpus), "--clips", "2", "--words", "6"]) == 0
    out = tmp_path / "trained.pt"
    args = ["train", "lip", "--corpus", str(corpus), "--out", str(out), "--steps", "3", "--batch", "8",
            "--emodiff", str(tmp_path / "emodiff.pt")]
    assert main(args) == 0
    assert LipModel.load(out).front_end == "logmel-1"
    small = tmp_path / "ship.pt"
    assert main(["train", "lip-export", str(out), str(small)]) == 0
    assert "optimizer" not in torch.load(small, weights_only=True)
    assert main(["train", "lip", "--corpus", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "corpus folder not found" in capsys.readouterr().err


def test_closure_head_learns_the_label_closures_and_closes_the_lips(tmp_path):
    from dreamtalk.evaluation.lipsync import lip_gap
    from dreamtalk.models.lip.refine import closure_strength, enforce_detected
    from dreamtalk.models.lip.train import detector_loss

    clips = tiny_clips(count=6, frames=60)
    for clip in clips:  # lips closed wherever feature 0 is high: a detector can learn it from the audio
        clip.closure = (clip.features[:, 0] > 0.6).astype(np.float32)
    cfg = LipRefinerConfig(audio_dim=6, hidden=24, lstm_layers=1, style_frames=8, closure_head=True, enforce=True)
    tcfg = LipTrainConfig(steps=300, batch=32, lr=3e-3, log_every=50, save_every=300)
    model = train(clips, tmp_path / "lip.pt", "logmel-1", cfg, tcfg)
    batch = LipWindowSampler(clips, model.cfg, tcfg, model.mean, model.std).batch(np.random.default_rng(5), 256)
    with torch.no_grad():
        _, logits = model.net.refine(batch["audio"], batch["mouth"], batch["style"])
        assert float(detector_loss(logits, batch["closure"], tcfg)) < 0.45
        hits = ((logits > 0) == (batch["closure"] > 0.5)).float().mean()
    assert hits > 0.85
    x, feats = clips[0].x.copy(), clips[0].features
    out = refine(LipModel.load(tmp_path / "lip.pt"), feats, x, x[:8])
    closed = clips[0].closure > 0
    assert np.median(lip_gap(out[closed, :52])) < 0.3 * np.median(lip_gap(x[closed, :52]))
    values = np.full((4, 52), 0.4, np.float32)
    assert np.allclose(enforce_detected(values, np.zeros(4), cfg), values)  # no detection: untouched
    assert np.allclose(lip_gap(enforce_detected(values, np.ones(4), cfg)), 0.0)
    assert closure_strength(np.array([0.3, 0.5, 0.7]), cfg).tolist() == [0.0, 0.5, 1.0]
    quiet = LipModel.load(tmp_path / "lip.pt")
    quiet.cfg.enforce = False  # the head trained, its probability not applied: the refiner's mouth alone
    plain = refine(quiet, feats, x, x[:8])
    assert not np.allclose(plain, out)
    quiet.net.closure = None
    assert np.array_equal(refine(quiet, feats, x, x[:8]), plain)
