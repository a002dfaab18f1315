"""Train the face-manipulation detector: EfficientNet-Lite0 on DFDC face crops + Self-Blended Images.

``python -m detection.training face_manipulation`` reproduces ``detection/weights/face_manipulation.pt``.

Recipe and why:
- Faces are cropped exactly as at inference (decode -> BlazeFace -> eye-levelled crop, margin 1.0), so the
  model never sees a framing it will not meet in production.
- DFDC fakes alone teach "blurry = fake" (their crops are blurrier than the reals). Self-Blended Images made
  on the fly from TRAIN reals add pseudo-fakes whose only difference from a real is a blending boundary and a
  colour/sharpness/alignment mismatch, which is what transfers to unseen swap methods.
- Both classes get the same degradations (JPEG, resize, blur AND sharpening, noise), flips and small crops,
  so codec and sharpness stop being labels.
- Stem and the first two stages stay frozen (ImageNet edge filters; ~1.6x faster on 2 cores, less
  over-fitting on 370 identities); the rest is fine-tuned with AdamW + one-cycle, and the checkpoint with the
  best DFDC val AUC is kept. A temperature fitted on val (NLL) calibrates the score.
- The DFDC split is the shared leak-free fold rule (``data.split``): train = folds 2-4, val = 0, test = 1.
"""

from __future__ import annotations

import argparse
import copy
import io
import itertools
import json
import logging
import random
import subprocess
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from ..config import AnalysisConfig
from ..decode import decode
from ..detectors._effnet import IMAGENET_MEAN, IMAGENET_STD, build_efficientnet_lite0, to_tensor
from ..faces import aligned_crop, detect_faces
from . import augment
from .data import REPO, Item, data_root, image_items, split
from .sbi import face_landmarks, self_blend

log = logging.getLogger("detection.training.face_manipulation")
OUT = REPO / "detection" / "weights" / "face_manipulation.pt"
MARGIN = 1.0
#: Stem + the first 3 MBConv blocks (stages 1-2, 112 and 56 px feature maps) keep their ImageNet weights.
FROZEN_BLOCKS = 3


# ----------------------------------------------------------------------------------------------- data

#: Real photos (not video frames) whose TRAIN-fold faces join the real class and the SBI sources, so that
#: "real" is not just "looks like a DFDC video frame" (without them, clean studio portraits score as fake).
#: Their fake counterparts (StyleGAN2, generators) are never trained on; val/test folds stay held out.
EXTRA_REAL_SOURCES = ("tpdne-ffhq-realorfake", "imagenet-samples-real", "ml72-playground", "aiimagefilter-testimg")


def crop_faces(data: bytes, size: int, config: AnalysisConfig) -> list[np.ndarray]:
    """Face crops of an encoded image, exactly as the detector makes them (largest face first)."""
    img = decode(data, config)
    faces = detect_faces(img.analysis_rgb, min_size=config.min_face_size, max_faces=config.max_faces)
    return [aligned_crop(img.analysis_rgb, f, size, MARGIN) for f in faces]


def load_dfdc_crop(item: Item, size: int, config: AnalysisConfig) -> tuple[np.ndarray, bool]:
    """The inference-path crop of a DFDC 224 px face crop; when BlazeFace misses, the whole (already tight)
    crop resized. Returns (crop, face_found)."""
    data = item.path.read_bytes()
    crops = crop_faces(data, size, config)
    if crops:
        return crops[0], True
    rgb = decode(data, config).analysis_rgb
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA), False


def extra_real_crops(size: int, config: AnalysisConfig, limit: int = 0) -> list[np.ndarray]:
    """Largest-face crops of the train-fold REAL images of ``EXTRA_REAL_SOURCES`` (same fold rule)."""
    items = [it for it in image_items() if it.label == 0 and it.source in EXTRA_REAL_SOURCES]
    train_items = split(items)["train"][: limit or None]
    out: list[np.ndarray] = []
    for it in train_items:
        data = it.path.read_bytes()
        if it.source == "tpdne-ffhq-realorfake":
            data = _tpdne_bytes(it.path)  # same watermark-corner crop + q90 re-encode as its evaluation
        crops = crop_faces(data, size, config)
        if crops:
            out.append(crops[0])
    return out


def _random_crop(rgb: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = rng.uniform(0.88, 1.0)
    ch, cw = max(8, int(h * f)), max(8, int(w * f))
    y, x = rng.randint(0, h - ch), rng.randint(0, w - cw)
    return rgb[y : y + ch, x : x + cw]


def augment_crop(rgb: np.ndarray, rng: random.Random, size: int) -> np.ndarray:
    """Label-independent augmentation: flip, small crop, degrade (JPEG/resize/blur/sharpen/noise), extra
    blur-or-sharpen, then back to the model size."""
    out = rgb[:, ::-1] if rng.random() < 0.5 else rgb
    if rng.random() < 0.7:
        out = _random_crop(out, rng)
    out = np.ascontiguousarray(out)
    r = rng.random()
    if r < 0.2:
        out = augment.gaussian_blur(out, rng.uniform(0.4, 1.5))
    elif r < 0.4:
        out = augment.sharpen(out, rng.uniform(0.3, 1.2))
    out = augment.degrade(out, rng)
    if out.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if out.shape[0] > size else cv2.INTER_LINEAR
        out = cv2.resize(out, (size, size), interpolation=interp)
    return out


def robustness_degrade(rgb: np.ndarray, size: int) -> np.ndarray:
    """The reported robustness condition: 0.5x downscale, JPEG q70, back to model size."""
    small = augment.rescale(rgb, 0.5)
    small = augment.jpeg(small, 70)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)


# -------------------------------------------------------------------------------------------- metrics


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(set(labels.tolist())) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


def eer(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of P(fake) over equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        sel = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        if sel.any():
            total += sel.mean() * abs(probs[sel].mean() - labels[sel].mean())
    return float(total)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature T minimising the NLL of sigmoid(logit / T) (Guo et al., 2017)."""
    from scipy.optimize import minimize_scalar

    z, y = logits.astype(np.float64), labels.astype(np.float64)

    def nll(log_t: float) -> float:
        p = np.clip(sigmoid(z / np.exp(log_t)), 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def report(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict[str, float]:
    probs = sigmoid(logits / temperature)
    return {
        "n": int(len(labels)),
        "auc": round(auc(logits, labels), 4),
        "eer": round(eer(logits, labels), 4),
        "ece": round(ece(probs, labels), 4),
        "acc@0.5": round(float(((probs >= 0.5) == (labels == 1)).mean()), 4),
        "mean_p_real": round(float(probs[labels == 0].mean()), 4) if (labels == 0).any() else None,
        "mean_p_fake": round(float(probs[labels == 1].mean()), 4) if (labels == 1).any() else None,
    }


# ------------------------------------------------------------------------------------------- training


def predict(model: torch.nn.Module, crops: list[np.ndarray], batch: int = 64) -> np.ndarray:
    model.eval()
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for i in range(0, len(crops), batch):
            out.append(model(to_tensor(np.stack(crops[i : i + batch]))).view(-1).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _freeze_early(model: torch.nn.Module) -> list[torch.nn.Module]:
    frozen = [model._conv_stem, model._bn0, *model._blocks[:FROZEN_BLOCKS]]
    for mod in frozen:
        for p in mod.parameters():
            p.requires_grad_(False)
    return frozen


def _set_train(model: torch.nn.Module, frozen: list[torch.nn.Module]) -> None:
    """Train mode, except frozen modules keep their ImageNet BatchNorm statistics."""
    model.train()
    for mod in frozen:
        mod.eval()


def train(args: argparse.Namespace) -> dict[str, Any]:
    t_start = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    config = AnalysisConfig()
    size = args.size

    items = [it for it in image_items() if it.source == "dfdc-faces224"]
    parts = split(items)
    crops: dict[str, list[np.ndarray]] = {}
    labels: dict[str, np.ndarray] = {}
    missed = 0
    for name, part in parts.items():
        if args.limit:  # smoke test: N/2 of each class
            part = [it for it in part if it.label == 0][: args.limit // 2] + [it for it in part if it.label == 1][
                : args.limit // 2
            ]
        parts[name] = part
        loaded = [load_dfdc_crop(it, size, config) for it in part]
        missed += sum(not found for _, found in loaded)
        crops[name] = [c for c, _ in loaded]
        labels[name] = np.array([it.label for it in part], np.int64)
    print(
        "[face_manipulation] dfdc crops: "
        + ", ".join(f"{k}={len(v)}" for k, v in crops.items())
        + f"; BlazeFace missed {missed} (used the whole crop)",
        flush=True,
    )
    real_train = [c for c, y in zip(crops["train"], labels["train"], strict=False) if y == 0]
    n_extra = 0
    if args.extra_reals:
        extra = extra_real_crops(size, config, args.limit)
        n_extra = len(extra)
        real_train += extra
        print(
            f"[face_manipulation] extra train-fold real faces from {', '.join(EXTRA_REAL_SOURCES)}: {n_extra}",
            flush=True,
        )
    fake_train = [c for c, y in zip(crops["train"], labels["train"], strict=False) if y == 1]
    lm_train = [face_landmarks(c) for c in real_train]
    lm_val = [face_landmarks(c) for c, y in zip(crops["val"], labels["val"], strict=False) if y == 0]
    print(
        f"[face_manipulation] FaceMesh landmarks on {sum(lm is not None for lm in lm_train)}/{len(lm_train)} "
        f"train reals ({time.time() - t_start:.0f}s)",
        flush=True,
    )

    # a fixed SBI val set (val reals vs their self-blends): does the model learn blending boundaries?
    vrng = random.Random(args.seed + 999)
    val_reals = [c for c, y in zip(crops["val"], labels["val"], strict=False) if y == 0]
    sbi_val = [self_blend(c, lm, vrng)[0] for c, lm in zip(val_reals, lm_val, strict=False)]

    model = build_efficientnet_lite0(1, pretrained=True, image_size=size)
    frozen = _freeze_early(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    # one epoch: every train real twice (two augmentations) vs every DFDC fake + one SBI per train real
    per_epoch = 2 * len(real_train) + len(fake_train) + len(real_train)
    steps = args.epochs * ((per_epoch + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    best: dict[str, Any] = {"auc": -1.0}
    history: list[dict[str, Any]] = []
    for epoch in range(args.epochs):
        t_ep = time.time()
        erng = random.Random(args.seed * 1000 + epoch)
        plan = [("real", i) for i in range(len(real_train))] * 2
        plan += [("dfdc", i) for i in range(len(fake_train))] + [("sbi", i) for i in range(len(real_train))]
        erng.shuffle(plan)
        _set_train(model, frozen)
        losses: list[float] = []
        for b in range(0, len(plan), args.batch):
            xs, ys = [], []
            for kind, i in plan[b : b + args.batch]:
                if kind == "real":
                    img, y = real_train[i], 0.0
                elif kind == "dfdc":
                    img, y = fake_train[i], 1.0
                else:
                    img, y = self_blend(real_train[i], lm_train[i], erng)[0], 1.0
                xs.append(augment_crop(img, erng, size))
                ys.append(y)
            x = to_tensor(np.stack(xs))
            target = torch.tensor(ys, dtype=torch.float32).view(-1, 1)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), target)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        val_logits = predict(model, crops["val"])
        val_auc = auc(val_logits, labels["val"])
        sbi_logits = predict(model, val_reals + sbi_val)
        sbi_auc = auc(sbi_logits, np.array([0] * len(val_reals) + [1] * len(sbi_val)))
        row = {
            "epoch": epoch + 1,
            "loss": round(float(np.mean(losses)), 4),
            "val_auc": round(val_auc, 4),
            "val_sbi_auc": round(sbi_auc, 4),
            "seconds": round(time.time() - t_ep, 1),
        }
        history.append(row)
        print(f"[face_manipulation] {json.dumps(row)}", flush=True)
        if val_auc > best["auc"]:
            best = {"auc": val_auc, "epoch": epoch + 1, "state": copy.deepcopy(model.state_dict())}
    train_seconds = time.time() - t_start

    model.load_state_dict(best["state"])
    model.eval()
    val_logits = predict(model, crops["val"])
    temperature = fit_temperature(val_logits, labels["val"])
    test_logits = predict(model, crops["test"])
    metrics: dict[str, Any] = {
        "val": report(val_logits, labels["val"], temperature),
        "test": report(test_logits, labels["test"], temperature),
        "val_sbi_auc": round(
            auc(predict(model, val_reals + sbi_val), np.array([0] * len(val_reals) + [1] * len(sbi_val))), 4
        ),
        "test_jpeg70_half": report(
            predict(model, [robustness_degrade(c, size) for c in crops["test"]]), labels["test"], temperature
        ),
    }
    metrics.update(cross_source(model, size, config, temperature, crops["test"], labels["test"], args.limit))
    return {
        "model": model,
        "temperature": temperature,
        "metrics": metrics,
        "history": history,
        "best_epoch": best["epoch"],
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - t_start, 1),
        "counts": {k: {"real": int((v == 0).sum()), "fake": int((v == 1).sum())} for k, v in labels.items()},
        "blazeface_missed": missed,
        "extra_real_faces": n_extra,
    }


# ---------------------------------------------------------------------------------------- cross-source


def _image_logit(model: torch.nn.Module, data: bytes, size: int, config: AnalysisConfig) -> float | None:
    """Image-level logit as the detector computes it: max over the faces' logits; None without a face."""
    crops = crop_faces(data, size, config)
    return float(predict(model, crops).max()) if crops else None


def _tpdne_bytes(path: Path) -> bytes:
    """Crop away the "StyleGAN2" watermark corner (keep top-left 85%) and re-encode as JPEG q90, so codec
    and watermark are identical for both classes."""
    rgb = np.asarray(Image.open(path).convert("RGB"))
    h, w = rgb.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb[: int(h * 0.85), : int(w * 0.85)])).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def cross_source(
    model: torch.nn.Module,
    size: int,
    config: AnalysisConfig,
    temperature: float,
    test_crops: list[np.ndarray],
    test_labels: np.ndarray,
    limit: int | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = image_items()
    tp = [it for it in items if it.source == "tpdne-ffhq-realorfake"]
    if limit:
        tp = [it for it in tp if it.label == 0][: limit // 2] + [it for it in tp if it.label == 1][: limit // 2]
    logits, ys, heldout, no_face = [], [], [], 0
    held_groups = {it.group for name in ("val", "test") for it in split(tp)[name]}
    for it in tp:
        z = _image_logit(model, _tpdne_bytes(it.path), size, config)
        if z is None:
            no_face += 1
            continue
        logits.append(z)
        ys.append(it.label)
        heldout.append(it.group in held_groups)
    if logits:
        z_all, y_all, h = np.array(logits), np.array(ys), np.array(heldout)
        # folds 0-1 only: never seen in training even when the FFHQ train-fold reals are extra reals
        out["cross_tpdne_stylegan2_vs_ffhq_heldout_folds"] = report(z_all[h], y_all[h], temperature)
        out["cross_tpdne_stylegan2_vs_ffhq_all"] = {**report(z_all, y_all, temperature), "no_face": no_face}
    gan = [it for it in items if it.source == "durall-celeba-gan128"][: limit or None]
    logits, no_face = [], 0
    for it in gan:
        z = _image_logit(model, it.path.read_bytes(), size, config)
        if z is None:
            no_face += 1
            continue
        logits.append(z)
    if logits:
        reals = predict(model, [c for c, y in zip(test_crops, test_labels, strict=False) if y == 0])
        zz = np.concatenate([reals, np.array(logits)])
        yy = np.array([0] * len(reals) + [1] * len(logits))
        out["cross_celeba_gan128_vs_dfdc_test_reals"] = {**report(zz, yy, temperature), "no_face": no_face}
    return out


# ------------------------------------------------------------------------------------------------ main


def _git_commit() -> str | None:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m detection.training face_manipulation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=7)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--lr", type=float, default=6e-4)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--extra-reals",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add train-fold real faces of EXTRA_REAL_SOURCES to the real class and SBI sources",
    )
    p.add_argument("--limit", type=int, default=0, help="use only N items per split (smoke test)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    data_root()  # fail early with a clear message when the data is missing

    res = train(args)
    model = res["model"]
    meta: dict[str, Any] = {
        "arch": "efficientnet-lite0",
        "num_classes": 1,
        "input_size": args.size,
        "crop_margin": MARGIN,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "temperature": res["temperature"],
        "gradcam_layer": "_blocks[-1]",
        "metrics": res["metrics"],
        "history": res["history"],
        "best_epoch": res["best_epoch"],
        "train_seconds": res["train_seconds"],
        "total_seconds": res["total_seconds"],
        "split": "detection.training.data.split defaults: train=folds 2-4, val=fold 0, test=fold 1 (by pair)",
        "counts": res["counts"],
        "blazeface_missed": res["blazeface_missed"],
        "extra_real_faces": res["extra_real_faces"],
        "data_sources": ["faces/dfdc-faces224 (DFDC, research use only)"]
        + (
            [f"train-fold real faces of faces/ or genimage/{s} (reals only)" for s in EXTRA_REAL_SOURCES]
            if args.extra_reals
            else []
        )
        + ["self-blended images from the train reals above"],
        "eval_sources": ["faces/tpdne-ffhq-realorfake", "faces/durall-celeba-gan128"],
        "hyperparameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "frozen": f"stem + blocks[:{FROZEN_BLOCKS}]",
        "seed": args.seed,
        "code_commit": _git_commit(),
        "torch": str(torch.__version__),
    }
    state = {
        k: v.detach().clone().float() if v.is_floating_point() else v.detach().clone()
        for k, v in model.state_dict().items()
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "meta": meta}, args.out)
    # verify the file loads the way the detector loads it
    torch.load(args.out, map_location="cpu", weights_only=True)
    print(
        f"[face_manipulation] best epoch {res['best_epoch']}, temperature {res['temperature']:.4f}, "
        f"training {res['train_seconds']:.0f}s, total {res['total_seconds']:.0f}s -> {args.out}"
    )
    print("[face_manipulation] metrics " + json.dumps(res["metrics"], indent=1))
    return 0
