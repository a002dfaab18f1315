"""The speech spoof network: LFCC features and a small fully convolutional CNN (LCNN-style, max-feature-map).

The trunk runs ONCE over a whole clip; each scoring window pools the trunk's frames inside it (mean and std)
and the head turns that into a logit. Training sees fixed 4 s crops (so duration cannot leak), inference
scores overlapping 4 s windows (2 s hop) from one trunk pass, which is what makes it fast.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

RATE = 16_000
HOP = 160  # 10 ms frames
WINDOW_S = 4.0
STEP_S = 2.0
DOWN = 8  # time downsampling of the trunk


class Features(nn.Module):
    """LFCC (20 static + delta + delta-delta) with per-clip cepstral mean normalisation (removes the channel)."""

    def __init__(self, n_lfcc: int = 20) -> None:
        super().__init__()
        import torchaudio

        self.lfcc = torchaudio.transforms.LFCC(
            sample_rate=RATE,
            n_filter=70,
            n_lfcc=n_lfcc,
            speckwargs={"n_fft": 512, "win_length": 320, "hop_length": HOP, "center": True},
        )
        self.delta = torchaudio.transforms.ComputeDeltas(win_length=5)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:  # (B, N) -> (B, 1, 3*n_lfcc, T)
        c = self.lfcc(wav)
        c = c - c.mean(dim=-1, keepdim=True)
        d = self.delta(c)
        dd = self.delta(d)
        out: torch.Tensor = torch.cat([c, d, dd], dim=1).unsqueeze(1)
        return out


class MFM(nn.Module):
    """Max-feature-map activation (LCNN): halves the channels by an element-wise max."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.maximum(a, b)


def _block(cin: int, cout: int, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, 2 * cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(2 * cout),
        MFM(),
        nn.MaxPool2d(pool),
    )


class SpoofNet(nn.Module):
    def __init__(self, n_lfcc: int = 20, width: int = 16, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = Features(n_lfcc)
        w = width
        self.trunk = nn.Sequential(
            _block(1, w, (2, 2)),
            _block(w, 2 * w, (2, 2)),
            _block(2 * w, 3 * w, (2, 2)),
            _block(3 * w, 4 * w, (1, 1)),
        )
        freq = (3 * n_lfcc) // 8
        self.proj = nn.Sequential(nn.Conv1d(4 * w * freq, 64, 1), nn.BatchNorm1d(64), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(128, 1))

    def frames(self, wav: torch.Tensor) -> torch.Tensor:
        """(B, N) samples -> (B, 64, T/8) frame embeddings."""
        x = self.trunk(self.features(wav))
        b, c, f, t = x.shape
        out: torch.Tensor = self.proj(x.reshape(b, c * f, t))
        return out

    @staticmethod
    def pool(frames: torch.Tensor) -> torch.Tensor:
        return torch.cat([frames.mean(dim=-1), frames.std(dim=-1, unbiased=False)], dim=1)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:  # (B, N) -> (B,) logits
        out: torch.Tensor = self.head(self.pool(self.frames(wav))).squeeze(1)
        return out

    def window_logits(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[tuple[float, float]]]:
        """One clip (N,) -> logits of every 4 s window with a 2 s hop, and their (start, end) in seconds."""
        fr = self.frames(wav.unsqueeze(0))[0]  # (64, T')
        per_s = RATE / HOP / DOWN
        total = fr.shape[-1]
        win = max(1, round(WINDOW_S * per_s))
        step = max(1, round(STEP_S * per_s))
        starts = list(range(0, max(1, total - win + 1), step))
        if total > win and starts[-1] + win < total:
            starts.append(total - win)  # the tail gets its own window
        pooled = torch.stack([self.pool(fr[:, s : s + win].unsqueeze(0))[0] for s in starts])
        logits = self.head(pooled).squeeze(1)
        dur = wav.shape[-1] / RATE
        spans = [(round(s / per_s, 2), round(min(dur, (s + win) / per_s), 2)) for s in starts]
        return logits, spans


def build(meta: dict[str, Any]) -> SpoofNet:
    return SpoofNet(n_lfcc=int(meta.get("n_lfcc", 20)), width=int(meta.get("width", 16)))
