"""The training data: manifest rows, sources, and grouping keys for leak-free splits."""

from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def data_root() -> Path:
    """``$DETECTION_DATA`` or ``../shared/data`` next to the repository."""
    env = os.environ.get("DETECTION_DATA")
    root = Path(env) if env else REPO.parent / "shared" / "data"
    if not (root / "MANIFEST-images.csv").exists():
        raise SystemExit(f"training data not found at {root} (set DETECTION_DATA)")
    return root


@dataclass(frozen=True)
class Item:
    path: Path
    relpath: str
    label: int  # 1 = fake, 0 = real
    source: str  # e.g. "dfdc-faces224"
    group: str  # split key: files sharing a group never straddle train/test
    method: str


_PAIR = re.compile(r"source real clip (\w+)\.mp4")


def image_items(root: Path | None = None) -> list[Item]:
    root = root or data_root()
    items: list[Item] = []
    with (root / "MANIFEST-images.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            rel = row["relpath"]
            parts = rel.split("/")
            if parts[0] not in ("faces", "genimage"):
                continue
            source = parts[1]
            stem = Path(rel).stem
            method = row.get("generator_or_method_if_known") or ""
            group = f"{source}:{stem}"
            m = _PAIR.search(method)
            if m:  # a DFDC fake is grouped with the real clip it was made from
                group = f"{source}:{m.group(1)}"
            items.append(
                Item(
                    path=root / rel,
                    relpath=rel,
                    label=1 if row["label"] == "fake" else 0,
                    source=source,
                    group=group,
                    method=method,
                )
            )
    return items


def fold_of(group: str, n_folds: int = 5, salt: str = "v1") -> int:
    """Deterministic fold from the group key (stable across machines and Python hash seeds)."""
    return int(hashlib.sha256(f"{salt}:{group}".encode()).hexdigest(), 16) % n_folds


def split(items: list[Item], *, val_fold: int = 0, test_fold: int = 1, n_folds: int = 5) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {"train": [], "val": [], "test": []}
    for it in items:
        f = fold_of(it.group, n_folds)
        out["val" if f == val_fold else "test" if f == test_fold else "train"].append(it)
    return out


def neutral_bytes(item: Item) -> bytes:
    """The file as evaluation should see it, with the source's known label-leaking artefacts removed.

    ``tpdne-ffhq-realorfake``: every fake has "StyleGAN2" burned into the bottom-right corner and is a q100
    progressive JPEG while reals are q75 baseline; both classes lose that corner and are re-encoded the same
    way. Every other source is returned as is.
    """
    data = item.path.read_bytes()
    if item.source != "tpdne-ffhq-realorfake":
        return data
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = im.size
    im = im.crop((0, 0, int(w * 0.85), int(h * 0.85)))
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=90)
    return out.getvalue()
