"""EmoDiff scheduler, samplers, guidance and long-sequence composition."""

import numpy as np
import pytest
import torch

from dreamtalk.models.emodiff.conditions import StyleKey, fit_style, mix_styles, window_styles
from dreamtalk.models.emodiff.config import DiffusionConfig, SamplerConfig
from dreamtalk.models.emodiff.denoiser import Conditions
from dreamtalk.models.emodiff.generate import ease_into_locked, generate
from dreamtalk.models.emodiff.guidance import guided
from dreamtalk.models.emodiff.inference import BoundDenoiser, bind
from dreamtalk.models.emodiff.long import autoregressive_sample, stitch_sample
from dreamtalk.models.emodiff.sampling import as_x0, sample
from dreamtalk.models.emodiff.scheduler import Scheduler
from dreamtalk.models.windows import blend_weights, window_starts
from emodiff_fixtures import tiny_clips, tiny_model


def _cond(batch: int, window: int = 16, feat: int = 6) -> Conditions:
    g = torch.Generator().manual_seed(3)
    track = torch.randn(batch, window, 56, generator=g)
    track[..., -1] = 1.0
    return Conditions(torch.randn(batch, window, feat, generator=g), track,
                      torch.ones(batch, dtype=torch.bool), torch.ones(batch, dtype=torch.bool))


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_scheduler_is_deterministic_and_well_formed(schedule):
    a, b = Scheduler(DiffusionConfig(beta_schedule=schedule)), Scheduler(DiffusionConfig(beta_schedule=schedule))
    assert torch.equal(a.betas, b.betas)
    assert torch.all(a.betas > 0) and torch.all(a.betas < 1)
    assert torch.all(torch.diff(a.alpha_bar) < 0)
    steps = a.set_timesteps(10)
    assert len(steps) == 10 and int(steps[0]) == 999 and torch.all(torch.diff(steps) < 0)
    assert a.previous(int(steps[-1])) == -1
    x0 = torch.randn(4, 16, 55, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(4, 16, 55, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0, 10, 500, 999])
    xt = a.add_noise(x0, noise, t)
    assert torch.equal(xt, b.add_noise(x0, noise, t))
    eps_sched = Scheduler(DiffusionConfig(beta_schedule=schedule, prediction="eps"))
    low = t < 900  # near t = T alpha_bar -> 0 and the inversion is ill-conditioned in float32
    assert torch.allclose(eps_sched.to_x0(noise, xt, t)[low], x0[low], atol=1e-3)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_sampling_is_deterministic_per_seed_and_oracle_recovers_x0(eta):
    sched = Scheduler(DiffusionConfig(train_steps=200))
    sched.set_timesteps(20, eta=eta)
    target = torch.linspace(-1, 1, 16 * 55).reshape(1, 16, 55)

    def oracle(x, t):
        return target.expand_as(x)

    def run(seed):
        g = torch.Generator().manual_seed(seed)
        return sample(oracle, sched, torch.randn(2, 16, 55, generator=g), generator=g)

    assert torch.equal(run(5), run(5))
    assert torch.allclose(run(5), target.expand(2, 16, 55), atol=1e-5)
    model = tiny_model()
    fn = as_x0(lambda x, t: model.denoiser(x, t, _cond(2)), sched)

    def run_model(seed):
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            return sample(fn, sched, torch.randn(2, 16, 55, generator=g), generator=g)

    assert torch.equal(run_model(1), run_model(1))
    assert not torch.allclose(run_model(1), run_model(2))


def test_guidance_scale_one_is_the_conditional_model_and_batches_correctly():
    model = tiny_model()
    net, cond = model.denoiser, _cond(3)
    x = torch.randn(3, 16, 55, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([5, 50, 90])
    with torch.no_grad():
        plain = net(x, t, cond)
        assert torch.equal(guided(net, cond, 1.0, 1.0)(x, t), bind(net, cond)(x, t))  # one plain pass
        assert torch.allclose(guided(net, cond, 1.0, 1.0)(x, t), plain, atol=1e-5)
        uncond = net(x, t, Conditions(cond.audio, cond.track, torch.zeros(3, dtype=torch.bool), cond.audio_keep))
        noaudio = net(x, t, Conditions(cond.audio, cond.track, cond.style_keep, torch.zeros(3, dtype=torch.bool)))
        both = guided(net, cond, 2.5, 1.5)(x, t)
    expected = plain + 1.5 * (plain - uncond) + 0.5 * (plain - noaudio)
    assert not torch.allclose(uncond, plain)
    assert torch.allclose(both, expected, atol=1e-5)


def test_window_starts_cover_and_blend_weights_ramp():
    assert window_starts(10, 32, 8) == [0]
    starts = window_starts(100, 32, 8)
    assert starts[0] == 0 and starts[-1] == 68
    assert all(b - a <= 24 for a, b in zip(starts, starts[1:]))
    w = blend_weights(32, 8)
    assert w[0] == pytest.approx(1 / 9) and w[8] == 1 and w[-1] == pytest.approx(1 / 9)
    with pytest.raises(ValueError):
        window_starts(100, 32, 32)


def _offset_dummy(starts, window, takes):
    """Window denoiser returning a smooth curve of absolute time + a different constant per window."""
    offsets = torch.randn(len(starts), generator=torch.Generator().manual_seed(9))
    absolute = torch.tensor(starts)[:, None] + torch.arange(window)[None]  # (W, N)
    base = torch.sin(absolute / 40.0) + offsets[:, None]  # (W, N)

    def denoise(x, t):
        return base.repeat(takes, 1)[..., None].expand(-1, -1, x.shape[-1]).clone()

    return denoise, offsets


def test_long_stitched_sampling_is_continuous_over_five_minutes():
    length, window, overlap, takes = 7500, 32, 8, 2
    sched = Scheduler(DiffusionConfig(train_steps=100))
    sched.set_timesteps(5)
    starts = window_starts(length, window, overlap)
    denoise, offsets = _offset_dummy(starts, window, takes)
    noise = torch.randn(takes, length, 3, generator=torch.Generator().manual_seed(0))
    out = stitch_sample(denoise, sched, noise, starts, window, overlap)
    assert out.shape == (takes, length, 3) and torch.isfinite(out).all()
    jump = float(torch.diff(offsets).abs().max())
    steps = out[0, :, 0].diff().abs()
    assert float(steps.max()) < jump / (overlap + 1) + 0.05
    hard = stitch_sample(denoise, sched, noise, starts, window, 0)  # no blending: seams show
    assert float(hard[0, :, 0].diff().abs().max()) > 2 * float(steps.max())


def test_autoregressive_continues_from_previous_window():
    length, window, overlap = 100, 16, 4
    sched = Scheduler(DiffusionConfig(train_steps=50))
    sched.set_timesteps(3)
    starts = window_starts(length, window, overlap)
    cond = _cond(len(starts))
    cond.track[:, 0, -1] = 0.0
    seen = []

    def make(rows):
        seen.append(rows.track[:, 0].clone())
        return lambda x, t: x * 0 + float(len(seen))  # window w predicts the constant w + 1

    noise = torch.zeros(2, length, 55)
    out = autoregressive_sample(make, sched, noise, starts, cond)
    assert out.shape == (2, length, 55)
    assert torch.allclose(out[0, :window, 0], torch.ones(window))
    second = slice(starts[1], starts[1] + window)
    assert torch.allclose(out[0, second][:overlap, 0], torch.ones(overlap))  # continued, not redrawn
    assert torch.allclose(out[0, second][overlap:, 0], torch.full((window - overlap,), 2.0))
    assert float(seen[1][0, -1]) == 1.0 and torch.allclose(seen[1][0, :55], torch.ones(55))


@pytest.mark.parametrize("mode", ["stitch", "autoregressive"])
def test_locked_frames_are_reproduced(mode):
    model = tiny_model()
    clip = tiny_clips(1, frames=70, seed=4)[0]
    mask = np.zeros(70, bool)
    mask[:10] = mask[30:40] = True
    out = generate(model, clip.features, SamplerConfig(steps=4, long_mode=mode, overlap=4), takes=2,
                   seed=3, locked=clip.x, locked_mask=mask)
    assert out.shape == (2, 70, 55)
    assert np.abs(out[:, mask] - clip.x[mask]).max() < 1e-3
    assert np.abs(out[:, ~mask] - clip.x[~mask]).max() > 1e-2


def test_easing_takes_out_the_jump_at_locked_edges_only():
    t = np.arange(80, dtype=np.float32)
    x = np.stack([0.01 * t, 0.5 + 0.2 * np.sin(t / 5)], axis=1)[None].repeat(2, axis=0)  # (K, T, P) smooth
    mask = np.zeros(80, bool)
    mask[20:40] = True
    x[:, ~mask] += np.array([0.3, -0.2], np.float32)  # generated frames sit off the locked ones: two jumps
    eased = ease_into_locked(x, mask, 8)
    assert np.array_equal(eased[:, mask], x[:, mask])  # locked frames untouched
    far = np.ones(80, bool)
    far[11:49] = False  # beyond 8 free frames of either edge: untouched
    assert np.array_equal(eased[:, far], x[:, far])
    steps, raw_steps = np.abs(np.diff(eased, axis=1)), np.abs(np.diff(x, axis=1))
    smooth = np.abs(np.diff(x[:, 25:35], axis=1)).max()  # the largest step of the smooth signal
    assert raw_steps[:, [19, 39]].min() > 0.15  # the jumps
    assert steps[:, [19, 39]].max() < 1.01 * smooth  # at the edges: now a step of the motion
    assert steps.max() < 0.1  # the jump is spread over a raised cosine of 8 frames
    assert np.array_equal(ease_into_locked(x, mask, 0), x)
    assert np.array_equal(ease_into_locked(x, np.ones(80, bool), 8), x)


def test_takes_are_batched_seeds():
    model = tiny_model()
    feats = tiny_clips(1, frames=40)[0].features
    cfg = SamplerConfig(steps=4, overlap=4)
    many = generate(model, feats, cfg, takes=3, seed=7)
    for k in range(3):
        single = generate(model, feats, cfg, takes=1, seed=7 + k)[0]
        assert np.allclose(many[k], single, atol=1e-5)
    assert not np.allclose(many[0], many[1])
    short = generate(model, feats[:5], cfg)
    assert short.shape == (1, 5, 55)


def test_style_controls():
    a, b = np.ones((8, 55), np.float32), np.zeros((8, 55), np.float32)
    assert np.allclose(mix_styles([(a, 3.0), (b, 1.0)]), 0.75)
    assert fit_style(np.arange(20)[:, None].repeat(55, 1), 8)[0, 0] == 6
    assert fit_style(np.arange(4)[:, None].repeat(55, 1), 8).shape == (8, 55)
    keys = [StyleKey(0.0, a, 1.0), StyleKey(10.0, a * 2, 0.5)]
    styles = window_styles(keys, np.array([1.0, 10.25, 20.0]), b, transition=0.5)
    assert np.allclose(styles[0], 1.0) and np.allclose(styles[2], 1.0)  # 2 * 0.5 intensity
    half = window_styles([StyleKey(0.0, a, 0.3)], np.array([0.0]), b, 0.5)
    assert np.allclose(half, 0.3)
    smooth = window_styles([StyleKey(0.0, a, 1.0), StyleKey(5.0, b, 1.0)], np.linspace(4, 7, 31), b, 1.0)
    assert np.all(np.diff(smooth[:, 0, 0]) <= 1e-6) and np.abs(np.diff(smooth[:, 0, 0])).max() < 0.2


def test_sequence_metrics_detect_seams_blinks_and_diversity():
    from dreamtalk.core.arkit import INDEX
    from dreamtalk.evaluation import emodiff_metrics as metrics

    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.normal(0, 0.01, (600, 55)), axis=0)
    starts = window_starts(600, 32, 8)
    assert metrics.seam_ratio(smooth, starts, 32) < 3.0
    jumpy = smooth.copy()
    for s in starts[1:-1]:  # (the last window is shifted to end on the last frame)
        jumpy[s + 8:] += 0.5  # a jump on the step leaving the window that ends at frame s + 7
    assert metrics.seam_ratio(jumpy, starts, 32) > 5.0
    values = np.zeros((1500, 52))  # 60 s at 25 fps with 15 blinks
    for k in range(15):
        values[k * 100 + 10:k * 100 + 14, [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]] = 1.0
    assert metrics.blink_rate(values, 25.0) == pytest.approx(15.0)
    takes = np.repeat(smooth[None], 3, axis=0)
    spread, corr = metrics.seed_diversity(takes)
    assert spread < 1e-9 and corr == pytest.approx(1.0)
    noisy = takes + rng.normal(0, 0.05, takes.shape)
    assert metrics.seed_diversity(noisy)[0] > 0.01


@pytest.mark.parametrize("condition_in_input", [True, False])
def test_bound_denoiser_is_the_denoiser_with_its_conditions_prepared_once(condition_in_input):
    """The sampling path (`inference.BoundDenoiser`: condition track and cross-attention keys/values computed
    once, oneDNN linear layers on the CPU) computes `Denoiser.forward`, dropped style and audio rows included."""
    from dreamtalk.models.emodiff.config import DenoiserConfig
    from dreamtalk.models.emodiff.denoiser import Denoiser

    torch.manual_seed(0)
    net = Denoiser(DenoiserConfig(window=16, audio_dim=6, width=32, layers=2, heads=4,
                                  condition_in_input=condition_in_input)).eval()
    cond = _cond(4)
    cond.style_keep[1], cond.audio_keep[2] = False, False
    x = torch.randn(4, 16, 55, generator=torch.Generator().manual_seed(1))
    bound = bind(net, cond)
    assert isinstance(bound, BoundDenoiser)
    with torch.no_grad():
        for t in ([5, 50, 90, 999], [0, 0, 0, 0]):
            steps = torch.tensor(t)
            assert torch.allclose(bound(x, steps), net(x, steps, cond), atol=2e-5, rtol=1e-5)
    net.train()
    assert not isinstance(bind(net, cond), BoundDenoiser)  # dropout active: the plain module call


def test_models_without_learned_blinks_read_styles_without_their_blinks():
    """Issue 18 regression: presets (and users' style clips) hold blinks, a model trained on blink-free
    labels sees a blink dozens of its standard deviations away and answered fear and surprise with a
    disgusted face (emotion accuracy 1.000 -> 0.75 on development voices). Its styles drop the blinks."""
    from dreamtalk.core.arkit import INDEX
    from dreamtalk.models.emodiff.conditions import without_blinks

    model = tiny_model()
    raw = np.full((16, 55), 0.2, np.float32)
    raw[:, INDEX["eyeWideLeft"]] = raw[:, INDEX["eyeWideRight"]] = 0.5
    blinked = raw.copy()
    for channel in ("eyeBlinkLeft", "eyeBlinkRight"):
        blinked[6:10, INDEX[channel]] = [0.6, 1.0, 1.0, 0.5]
    for channel in ("eyeWideLeft", "eyeWideRight"):
        blinked[6:10, INDEX[channel]] = 0.0
    assert np.allclose(without_blinks(blinked), raw)
    assert np.array_equal(without_blinks(raw), raw)  # nothing to take out
    model.sampler.blinks = "events"
    assert np.allclose(model.style(blinked), model.style(raw))
    model.sampler.blinks = "model"  # a model that learned blinks keeps them in its styles
    assert not np.allclose(model.style(blinked), model.style(raw))
