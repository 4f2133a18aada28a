"""Anti-aliased 3-D resize that matches scikit-image's ``resize(..., anti_aliasing=True)``, fast.

scikit-image blurs with a Gaussian (sigma ``max(0, (in/out - 1) / 2)`` per axis, truncated at 4
sigma, mirror boundary) and then interpolates linearly with pixel centres aligned (``ndi.zoom``,
``grid_mode=True``, mirror boundary). Both steps are linear and separable, so each axis reduces to
one small matrix (out x in) that combines the blur and the interpolation exactly. Resizing is then
three banded matrix products in torch instead of a 3-D Gaussian pass over the full-size float64
volume followed by a spline zoom.

The in-plane products run slab by slab (a few slices, converted to float32 in a cache-sized
buffer), so the full-size volume is never copied to float32; the depth product runs last on the
in-plane-reduced volume. `window_resize` fuses the HU clip and the min-max normalisation: the
clip must precede the resize, but the affine min-max map commutes with it (every output is a
weighted mean of inputs), so it runs on the small output.

    >>> import numpy as np
    >>> resize_volume(np.zeros((4, 6, 6), np.float32), (2, 3, 3)).shape
    torch.Size([2, 3, 3])
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch


def _mirror(index: np.ndarray, n: int) -> np.ndarray:
    """scipy.ndimage's "mirror" boundary (reflect about the edge samples' centres), any distance."""
    if n == 1:
        return np.zeros_like(index)
    period = 2 * (n - 1)
    index = np.abs(index) % period
    return np.where(index > n - 1, period - index, index)


def _gaussian_taps(sigma: float) -> np.ndarray:
    """The normalised kernel scipy's gaussian_filter1d uses (truncate=4.0)."""
    radius = int(4.0 * sigma + 0.5)
    if sigma <= 1e-15 or radius == 0:
        return np.ones(1)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


@lru_cache(maxsize=64)
def resize_matrix(n_in: int, n_out: int, anti_aliasing: bool = True) -> np.ndarray:
    """The (n_out, n_in) float64 matrix of one axis: Gaussian blur then linear interpolation."""
    taps = _gaussian_taps(max(0.0, (n_in / n_out - 1.0) / 2.0)) if anti_aliasing else np.ones(1)
    radius = len(taps) // 2
    blur = np.zeros((n_in, n_in))
    rows = np.arange(n_in)
    for k, tap in enumerate(taps):
        np.add.at(blur, (rows, _mirror(rows + k - radius, n_in)), tap)
    coords = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    if n_in == 1:
        return np.ones((n_out, 1))
    coords = _mirror_coords(coords, n_in)
    low = np.clip(np.floor(coords).astype(np.int64), 0, n_in - 2)
    frac = coords - low
    interp = np.zeros((n_out, n_in))
    out_rows = np.arange(n_out)
    np.add.at(interp, (out_rows, low), 1.0 - frac)
    np.add.at(interp, (out_rows, low + 1), frac)
    return interp @ blur


def _mirror_coords(coords: np.ndarray, n: int) -> np.ndarray:
    period = 2.0 * (n - 1)
    coords = np.abs(coords) % period
    return np.where(coords > n - 1, period - coords, coords)


_SLAB_VOXELS = 1 << 19
"""Input voxels converted to float32 at a time (2 MB): the slab stays in cache between products."""
_BLOCK = {"depth": 4, "rows": 16, "cols": 32}
"""Output rows per product, per axis (measured on CPU: narrow blocks skip more zeros of the banded
matrix, wide blocks keep the products efficient)."""
_workspace: dict[str, torch.Tensor] = {}
"""Scratch tensors kept between calls: fresh large allocations cost page faults on first touch."""


def resize_volume(
    volume: np.ndarray | torch.Tensor, size: Sequence[int], *, anti_aliasing: bool = True
) -> torch.Tensor:
    """Resize a (D, H, W) volume to ``size`` as scikit-image's anti-aliased linear resize does.

    Returns a float32 tensor. Computation is float32; the matrices are built in float64.
    """
    return _resize(volume, size, anti_aliasing, None)[0]


def window_resize(
    volume: np.ndarray | torch.Tensor,
    window: Sequence[float],
    size: Sequence[int],
    *,
    anti_aliasing: bool = True,
) -> torch.Tensor:
    """Clip to ``window``, min-max to [0, 1] (a constant volume gives zeros), then resize: equal to
    ``resize_volume(window_normalise(volume, window), size)`` but one pass over the input.

    ``volume`` may be any real dtype (int16 HU as read): it is converted slab by slab.
    """
    out, low, high = _resize(volume, size, anti_aliasing, (float(window[0]), float(window[1])))
    if high <= low:
        return out.zero_()
    return out.sub_(low).mul_(1.0 / (high - low))


def _scratch(name: str, shape: tuple[int, ...]) -> torch.Tensor:
    numel = int(np.prod(shape))
    buffer = _workspace.get(name)
    if buffer is None or buffer.numel() < numel:
        buffer = _workspace[name] = torch.empty(numel, dtype=torch.float32)
    return buffer[:numel].view(shape)


def _matrix(n_in: int, n_out: int, anti_aliasing: bool) -> torch.Tensor:
    return torch.from_numpy(resize_matrix(n_in, n_out, anti_aliasing)).to(torch.float32)


def _resize(
    volume: Any, size: Sequence[int], anti_aliasing: bool, window: tuple[float, float] | None
) -> tuple[torch.Tensor, float, float]:
    """Resize (clipping each slab to ``window`` when given); returns the output and the min and max
    of the clipped input."""
    if not isinstance(volume, torch.Tensor):
        volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"resize_volume expects a (D, H, W) volume, got shape {tuple(volume.shape)}")
    d, h, w = (int(n) for n in volume.shape)
    d_out, h_out, w_out = (int(s) for s in size)
    rows = _matrix(h, h_out, anti_aliasing) if h != h_out else None
    cols_t = _matrix(w, w_out, anti_aliasing).T.contiguous() if w != w_out else None
    row_bands = _bands(rows, _BLOCK["rows"]) if rows is not None else []
    col_bands = _bands(cols_t.T, _BLOCK["cols"]) if cols_t is not None else []
    depth_same = d == d_out
    inplane = torch.empty((d, h_out, w_out)) if depth_same else _scratch("inplane", (d, h_out, w_out))
    k = max(1, min(d, _SLAB_VOXELS // max(1, h * w)))
    slab = _scratch("slab", (k, h, w))
    between = _scratch("between", (k, h_out, w)) if rows is not None else slab
    # Every product's operands, as views of the reused buffers, sliced once per call.
    row_products = [
        [(rows[s:e, lo:hi], slab[j, lo:hi], between[j, s:e]) for s, e, lo, hi in row_bands] for j in range(k)
    ]
    col_blocks = [(cols_t[lo:hi, s:e], s, e, lo, hi) for s, e, lo, hi in col_bands]
    low, high = float("inf"), float("-inf")
    for z0 in range(0, d, k):
        n = min(k, d - z0)
        x = slab[:n]
        part = volume[z0 : z0 + n]
        if isinstance(part, torch.Tensor):
            x.copy_(part)
        elif part.flags.writeable and part.dtype.isnative:
            x.copy_(torch.from_numpy(np.ascontiguousarray(part)))  # torch converts faster than numpy
        else:
            np.copyto(x.numpy(), part, casting="unsafe")
        if window is not None:
            # min and max of the clipped slab are the clipped min and max of the raw slab (cheaper).
            part_low, part_high = (float(v) for v in (part.min(), part.max()))
            low, high = min(low, part_low), max(high, part_high)
            x.clamp_(window[0], window[1])
        for j in range(n):
            for matrix, source, target in row_products[j]:
                torch.mm(matrix, source, out=target)
        target = inplane[z0 : z0 + n].view(n * h_out, w_out)
        flat = between[:n].view(n * h_out, w)
        if cols_t is None:
            target.copy_(flat)
            continue
        for matrix, s, e, lo, hi in col_blocks:
            torch.mm(flat[:, lo:hi], matrix, out=target[:, s:e])
    if window is not None:
        low, high = (min(max(v, window[0]), window[1]) for v in (low, high))
    if depth_same:
        return inplane, low, high
    depth = _matrix(d, d_out, anti_aliasing)
    out = torch.empty((d_out, h_out, w_out))
    src, dst = inplane.view(d, -1), out.view(d_out, -1)
    for start, stop, lo_in, hi_in in _bands(depth, _BLOCK["depth"]):
        torch.mm(depth[start:stop, lo_in:hi_in], src[lo_in:hi_in], out=dst[start:stop])
    return out, low, high


def _bands(matrix: torch.Tensor, block: int) -> list[tuple[int, int, int, int]]:
    """(out start, out stop, in start, in stop) of each block of output rows: the band of input
    samples the blur and the interpolation reach."""
    n_out, n_in = matrix.shape
    nonzero = (matrix != 0).to(torch.int8)
    first = nonzero.argmax(dim=1)
    last = n_in - 1 - nonzero.flip(1).argmax(dim=1)
    bands = []
    for start in range(0, n_out, block):
        stop = min(start + block, n_out)
        bands.append((start, stop, int(first[start:stop].min()), int(last[start:stop].max()) + 1))
    return bands


__all__ = ["resize_matrix", "resize_volume", "window_resize"]
