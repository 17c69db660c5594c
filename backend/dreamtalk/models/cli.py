"""`dreamtalk train ...` subcommands: `train emodiff`, `train lip`, their `-export`s, `train articulation` and
`train smoke-corpus`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..features import default_tag, get_frontend
from .articulation.config import ArticulationTrainConfig
from .lip.config import LipRefinerConfig, LipTrainConfig


def count(text: str) -> int:
    """argparse type of a number of copies: a whole number, 0 or more."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def seconds(text: str) -> float:
    """argparse type of a duration in seconds, 0 or more."""
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _add_training_run(parser, out: str, frontend_help: str) -> None:
    """Options every `train MODEL` command shares: the corpus, the front end, the checkpoint, seeding."""
    parser.add_argument("--corpus", required=True, help="a built corpus (docs/CORPUS.md) or a folder of .npz clips")
    parser.add_argument("--split", default="train", help="split of a built corpus to train on")
    parser.add_argument("--limit", type=int, help="use at most this many utterances (spread evenly)")
    parser.add_argument("--augment", type=count, default=0, help="also train on N augmented copies of each "
                        "utterance (reverberation, noise, telephone channel, tilt; same labels; default 0)")
    parser.add_argument("--frontend", help=f"audio front end tag (default: the default front end's, e.g. "
                        f"whisper-base-ct2-1{frontend_help})")
    parser.add_argument("--out", default=out, help="checkpoint path (resumed when it exists)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-every", type=int, default=1000,
                        help="steps between checkpoints (and validation losses)")
    parser.add_argument("--fresh", action="store_true", help="start over even if --out exists")
    parser.add_argument("--val-split", help="held-out split for the validation loss and the best checkpoint "
                        "(OUT with .best before its suffix); default: 'val' when the corpus has one; 'none': off")
    parser.add_argument("--val-corpus", help="take the validation clips from this corpus (e.g. for a folder "
                        "of .npz clips, which has no splits)")
    parser.add_argument("--val-limit", type=int, default=200, help="validation utterances at most (default %(default)s)")


def _validation_clips(args: argparse.Namespace) -> list | None:
    """The held-out clips for the validation loss, or None (no split asked for or available)."""
    from .emodiff.data import load_corpus

    if (args.val_split or "").lower() == "none":
        return None
    source = Path(args.val_corpus or args.corpus)
    built = (source / "corpus.json").is_file()
    if not args.val_corpus and not built:
        print("no validation loss: a folder of .npz clips has no held-out split (use --val-corpus)")
        return None
    if built and not args.val_split:
        from ..corpus.store import Corpus

        if not Corpus(source).select("val"):
            print(f"no validation loss: {source} has no 'val' split (use --val-split)")
            return None
    hold = getattr(args, "closure_hold", None) if built else None
    clips = load_corpus(source, args.frontend, split=args.val_split or "val", limit=args.val_limit, closure_hold=hold)
    print(f"validation loss on {len(clips)} held-out clips from {source}")
    return clips


def _labels_blink(corpus: str) -> bool:
    """Whether a corpus' labels carry blinks (a folder of .npz clips: assumed so). A model trained on
    blink-free labels gets blink events at generation time (SamplerConfig.blinks)."""
    if not (Path(corpus) / "corpus.json").is_file():
        return True
    from ..corpus.labels import of_header
    from ..corpus.store import Corpus

    return of_header(Corpus(corpus).header).blinks


def _label_settings(corpus: str, closure_hold: float | None) -> dict | None:
    """The label settings training reads from a built corpus (its own, with `closure_hold` when remade), as
    recorded in corpus.json; None for a folder of .npz clips (unknown)."""
    if not (Path(corpus) / "corpus.json").is_file():
        return None
    from ..corpus.labels import of_header
    from ..corpus.store import Corpus

    return of_header(Corpus(corpus).header).with_hold(closure_hold).header()


def _wrote(out: str) -> None:
    best = Path(out).with_name(f"{Path(out).stem}.best{Path(out).suffix}")
    extra = f"; best validation loss in {best}" if best.is_file() else ""
    print(f"wrote {out} (losses in {out}.log.jsonl{extra})")


def _check_out_folder(out: str) -> None:
    from ..core.errors import InputError

    if not Path(out).resolve().parent.is_dir():
        raise InputError(f"output folder {Path(out).parent} does not exist")


def add_subcommands(sub) -> None:
    p = sub.add_parser("train", help="train learned models")
    models = p.add_subparsers(dest="model", required=True)
    e = models.add_parser("emodiff", help="train EmoDiff on a corpus folder (resumes from --out)")
    _add_training_run(e, "emodiff.pt", ", or logmel-1")
    e.add_argument("--steps", type=int, default=20000, help="optimizer steps in all")
    e.add_argument("--batch", type=int, default=64, help="windows per step (per process)")
    e.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate")
    e.add_argument("--width", type=int, default=128, help="transformer width")
    e.add_argument("--layers", type=int, default=4, help="transformer layers")
    e.add_argument("--window", type=int, default=32, help="frames per window")
    e.add_argument("--prediction", choices=("eps", "x0"), default="x0", help="denoiser target")
    e.add_argument("--device", default="cpu", help="cpu or cuda")
    e.add_argument("--bf16", action="store_true", help="bf16 autocast of the forward pass (CUDA only)")
    e.add_argument("--device-data", choices=("auto", "on", "off"), default="auto",
                   help="keep the corpus in device tensors and draw batches there (auto: on CUDA)")
    e.set_defaults(func=cmd_train_emodiff)
    x = models.add_parser("emodiff-export", help="strip a training checkpoint down to what inference needs")
    x.add_argument("checkpoint", help="training checkpoint (from train emodiff)")
    x.add_argument("out", help="inference checkpoint to write")
    x.add_argument("--steps", type=int, help="record this tuned number of sampling steps with the model")
    x.add_argument("--guidance", type=float, help="record this tuned style guidance scale with the model")
    x.add_argument("--audio-guidance", type=float, help="record this tuned audio guidance scale with the model")
    x.set_defaults(func=cmd_export)
    lp = models.add_parser("lip", help="train the lip refiner on a corpus folder (resumes from --out)")
    _add_training_run(lp, "lip.pt", "; --emodiff sets it")
    lp.add_argument("--emodiff", help="an EmoDiff checkpoint: train on its takes as well as on perturbed labels")
    lp.add_argument("--steps", type=int, default=LipTrainConfig.steps, help="optimizer steps in all")
    lp.add_argument("--batch", type=int, default=LipTrainConfig.batch, help="windows per step")
    lp.add_argument("--lr", type=float, default=LipTrainConfig.lr, help="Adam learning rate")
    lp.add_argument("--window", type=int, default=LipRefinerConfig.window, help="frames per sliding window")
    lp.add_argument("--closure-weight", type=float, default=LipTrainConfig.closure_weight,
                    help="weight of the closure term (default %(default)s)")
    lp.add_argument("--emotion-weight", type=float, default=LipTrainConfig.emotion_weight,
                    help="weight of the emotion-offset term (default %(default)s)")
    lp.add_argument("--p-generated", type=float, default=LipTrainConfig.p_generated,
                    help="share of windows that take EmoDiff's output (default %(default)s)")
    lp.add_argument("--p-clean", type=float, default=LipTrainConfig.p_clean,
                    help="share of the other windows whose input is the label plus noise (default %(default)s)")
    lp.add_argument("--audio-noise", type=float, default=LipTrainConfig.audio_noise,
                    help="noise on the audio features, in feature standard deviations (default %(default)s)")
    lp.add_argument("--max-shift", type=int, default=LipTrainConfig.max_shift,
                    help="largest time shift of a perturbed label, in frames (default %(default)s)")
    lp.add_argument("--closure-hold", type=seconds, help="remake a built corpus' labels with the procedural engine "
                    "holding each p/b/m closure this many seconds beyond its phone (the corpus': 0.02)")
    lp.add_argument("--no-closure-head", action="store_true",
                    help="no frame-wise p/b/m closure detector (the refiner alone, as before issue 18)")
    lp.add_argument("--detector-weight", type=float, default=LipTrainConfig.detector_weight,
                    help="weight of the closure detector's cross-entropy (default %(default)s)")
    lp.set_defaults(func=cmd_train_lip)
    lx = models.add_parser("lip-export", help="strip a lip training checkpoint down to what inference needs")
    lx.add_argument("checkpoint", help="training checkpoint (from train lip)")
    lx.add_argument("out", help="inference checkpoint to write")
    lx.set_defaults(func=cmd_export)
    _add_articulation(models)
    s = models.add_parser("smoke-corpus", help="write a SMOKE corpus (procedural engine on buzz audio)")
    s.add_argument("out", help="output folder")
    s.add_argument("--clips", type=int, default=32)
    s.add_argument("--words", type=int, default=30)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_smoke_corpus)


def cmd_train_emodiff(args: argparse.Namespace) -> int:
    from ..progress_bar import ProgressBar
    from .emodiff.config import DenoiserConfig, DiffusionConfig, SamplerConfig, TrainConfig
    from .emodiff.data import load_corpus
    from .emodiff.train import train

    _check_out_folder(args.out)
    args.frontend = args.frontend or default_tag()
    clips = load_corpus(args.corpus, args.frontend, split=args.split, limit=args.limit, augment=args.augment)
    val_clips = _validation_clips(args)
    bar = ProgressBar()
    dcfg = DenoiserConfig(window=args.window, width=args.width, layers=args.layers)
    tcfg = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed, save_every=args.save_every,
                       bf16=args.bf16, device_data={"auto": None, "on": True, "off": False}[args.device_data])
    try:
        train(clips, args.out, dcfg, DiffusionConfig(prediction=args.prediction), tcfg, device=args.device,
              fe_name=args.frontend, resume=not args.fresh, report=lambda s, n, loss: bar(f"loss {loss:.4f}", s / n),
              val_clips=val_clips, scfg=SamplerConfig(blinks="model" if _labels_blink(args.corpus) else "events"))
    finally:
        bar.close()
    _wrote(args.out)
    return 0


def cmd_train_lip(args: argparse.Namespace) -> int:
    from ..progress_bar import ProgressBar
    from .emodiff.data import load_corpus
    from .lip.train import train

    _check_out_folder(args.out)
    emodiff = None
    if args.emodiff:
        from .emodiff.model import EmoDiff

        emodiff = EmoDiff.load(args.emodiff)
        args.frontend = emodiff.front_end
    args.frontend = args.frontend or default_tag()
    clips = load_corpus(args.corpus, args.frontend, split=args.split, limit=args.limit, augment=args.augment,
                        closure_hold=args.closure_hold)
    val_clips = _validation_clips(args)
    bar = ProgressBar()
    try:
        generated = None
        if emodiff is not None:
            from .lip.generated import emodiff_takes

            generated = emodiff_takes(emodiff, clips, args.frontend, args.seed,
                                      report=lambda i, n: bar(f"EmoDiff takes {i}/{n}", i / n))
        tcfg = LipTrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                              save_every=args.save_every, closure_weight=args.closure_weight,
                              emotion_weight=args.emotion_weight, p_generated=args.p_generated,
                              p_clean=args.p_clean, audio_noise=args.audio_noise, max_shift=args.max_shift,
                              detector_weight=args.detector_weight)
        cfg = LipRefinerConfig(window=args.window, overlap=args.window // 2, closure_head=not args.no_closure_head)
        train(clips, args.out, args.frontend, cfg, tcfg, generated,
              resume=not args.fresh, report=lambda s, n, loss: bar(f"loss {loss:.4f}", s / n), val_clips=val_clips,
              labels=_label_settings(args.corpus, args.closure_hold))
    finally:
        bar.close()
    _wrote(args.out)
    return 0


def _add_articulation(models) -> None:
    a = models.add_parser("articulation", help="train the articulation detector (p/b/m and open vowels heard in "
                          "the audio features) on a built corpus with timed phones")
    a.add_argument("--corpus", required=True, help="a built corpus (docs/CORPUS.md)")
    a.add_argument("--split", default="train", help="split to train on")
    a.add_argument("--val-split", default="val", help="held-out split for the figures and the best checkpoint "
                   "('none': off)")
    a.add_argument("--augment", type=count, default=0, help="also train on N augmented copies of each utterance")
    a.add_argument("--speed-copies", type=count, default=0, help="also train on N copies of each utterance played "
                   "0.85-1.15x as fast (tempo, pitch and formants together; the phones follow)")
    a.add_argument("--frontend", help="audio front end tag; tags joined by ',' are read side by side (default: "
                   "the default front end's with log-mel beside it, as the shipped detector)")
    a.add_argument("--steps", type=int, default=ArticulationTrainConfig.steps, help="optimizer steps")
    a.add_argument("--bilabial-weight", type=float, default=ArticulationTrainConfig.bilabial_weight,
                   help="weight of p/b/m frames in the loss (others 1)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--out", default="articulation.pt", help="checkpoint path")
    a.add_argument("--force", action="store_true", help="overwrite --out when it exists")
    a.set_defaults(func=cmd_train_articulation)


def detector_front_end() -> str:
    """The default front end's tag with log-mel read beside it (spectral detail for telling places of
    articulation apart: docs/lip.md); log-mel alone where it is the default."""
    tag, logmel = default_tag(), get_frontend("logmel").tag
    return tag if tag == logmel else f"{tag},{logmel}"


def cmd_train_articulation(args: argparse.Namespace) -> int:
    from ..core.errors import InputError
    from ..progress_bar import ProgressBar
    from .articulation.train import load_utterances, train

    _check_out_folder(args.out)
    if Path(args.out).exists() and not args.force:
        raise InputError(f"{args.out} exists; pass --force to overwrite it")
    front_end = args.frontend or detector_front_end()
    utterances = load_utterances(args.corpus, front_end, args.split, args.augment, speed=args.speed_copies)
    val = None if args.val_split.lower() == "none" else load_utterances(args.corpus, front_end, args.val_split)
    print(f"{len(utterances)} training utterances, {len(val or [])} held out ({args.val_split})")
    bar = ProgressBar()

    def report(step: int, steps: int, loss: float, seen: dict | None) -> None:
        if seen:
            print(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in seen.items()))
        bar(f"loss {loss:.4f}", step / steps)

    try:
        train(utterances, front_end, args.out, val=val, report=report,
              tcfg=ArticulationTrainConfig(steps=args.steps, seed=args.seed, bilabial_weight=args.bilabial_weight))
    finally:
        bar.close()
    from .articulation.model import ArticulationModel

    kept = ArticulationModel.read_payload(args.out)  # train() keeps the best held-out step and records it
    print(f"wrote {args.out} (step {kept['step']}" + (" of the best held-out figures)" if val else ")"))
    return 0


def cmd_smoke_corpus(args: argparse.Namespace) -> int:
    from ..corpus.smoke import write_smoke_corpus

    paths = write_smoke_corpus(args.out, args.clips, args.words, args.seed)
    print(f"wrote {len(paths)} smoke clips to {args.out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """`train emodiff-export` / `train lip-export`: the checkpoint without its training state; EmoDiff's
    may record the sampler settings it was tuned with (they become the engine's defaults)."""
    if args.model == "lip-export":
        from .lip.model import LipModel

        path = LipModel.export(args.checkpoint, args.out)
    else:
        from dataclasses import replace

        from .emodiff.model import EmoDiff

        model = EmoDiff.load(args.checkpoint)
        tuned = {"steps": args.steps, "guidance": args.guidance, "audio_guidance": args.audio_guidance}
        model.sampler = replace(model.sampler, **{k: v for k, v in tuned.items() if v is not None})
        model.save(args.out)
        path = Path(args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
