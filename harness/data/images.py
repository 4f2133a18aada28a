"""Reading CT volumes and turning them into the model's input tensor.

    >>> import numpy as np
    >>> window_normalise(np.array([-1000.0, 40.0, 3000.0]), (-160.0, 240.0)).tolist()
    [0.0, 0.5, 1.0]

Raw volumes (.nii.gz, .nii, or any format SimpleITK reads) hold Hounsfield units; a 4-D image keeps
its first volume, as the reference preprocessing does. The intensity window comes from the model
(``Recipe.hu_windows``, by domain) and the case or request (its ``domain``, set by the task).
Processed volumes (.npy, .npz: what `harness preprocess` writes) are already windowed and in [0, 1],
with a leading channel axis.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import HarnessError
from harness.task import Case

if TYPE_CHECKING:
    import torch

PROCESSED_SUFFIXES = (".npy", ".npz")
ON_BAD_CASE = ("error", "skip")
"""What a run, a loader or `harness preprocess` does with a `BadCase`: stop with its error, or skip and list it."""


class BadCase(HarnessError):
    """A case whose image cannot be read. Runs either stop on it or skip it (``--on-bad-case skip``)
    and list it in their result."""

    def __init__(self, path: str | Path, reason: str, case_id: str | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.case_id = case_id
        who = f"case {case_id}: " if case_id else ""
        super().__init__(
            f"{who}cannot read image {self.path} ({reason}); fix or remove the file, or pass --on-bad-case skip"
        )


def check_on_bad_case(value: str, *, name: str = "--on-bad-case") -> str:
    """``value`` if it is one of `ON_BAD_CASE`; otherwise one line naming ``name``, including for ``raise``, the
    spelling `harness preprocess` and the image loader used before all commands agreed on ``error``."""
    if value in ON_BAD_CASE:
        return value
    hint = " ('raise' is the old spelling of 'error')" if value == "raise" else ""
    raise HarnessError(f"{name} {value}: use error (stop at an unreadable image) or skip (skip and list it){hint}")


def is_processed(path: str | Path) -> bool:
    """Whether a file is in the processed format (already windowed, in [0, 1], channel first)."""
    return str(path).lower().endswith(PROCESSED_SUFFIXES)


def read_volume(path: str | Path) -> np.ndarray:
    """The voxel array of an image file, as stored.

    NIfTI and other medical formats come back (D, H, W) in HU via SimpleITK (array order z, y, x,
    as the reference reads them), the first volume of a 4-D image; .npy files are memory-mapped
    (processed volumes are (1, D, H, W)). A missing, truncated or corrupt file raises `BadCase`.
    """
    path = Path(path)
    if not path.is_file():
        raise BadCase(path, "file not found")
    name = path.name.lower()
    try:
        if name.endswith(".npy"):
            return np.load(path, mmap_mode="r", allow_pickle=False)
        if name.endswith(".npz"):
            with np.load(path, allow_pickle=False) as archive:
                if not archive.files:
                    raise BadCase(path, "empty .npz archive")
                return archive[archive.files[0]]
        return _read_sitk(path)
    except BadCase:
        raise
    except (OSError, ValueError, EOFError, RuntimeError, zipfile.BadZipFile) as exc:
        raise BadCase(path, _reason(exc)) from None
    except Exception as exc:  # python-isal's IsalError derives from Exception only
        if type(exc).__name__ != "IsalError":
            raise
        raise BadCase(path, _reason(exc)) from None


def load_volume(path: str | Path, *, case_id: str | None = None) -> np.ndarray:
    """`read_volume`, then `check_volume`: what image preparation and preprocessing start from."""
    try:
        volume = read_volume(path)
    except BadCase as exc:
        raise BadCase(exc.path, exc.reason, case_id) from None
    check_volume(volume, path, case_id=case_id, processed=is_processed(path))
    return volume


def check_volume(volume: np.ndarray, path: str | Path, *, case_id: str | None = None, processed: bool = False) -> None:
    """Refuse, as a `BadCase` naming the file, what is not a real-valued, finite, non-empty volume.

    Non-finite voxels are never replaced: one NaN would otherwise turn the min-max normalisation into
    NaN (or, clipped, an all-zero input) and the model would answer for an image it never saw.
    Processed volumes must also lie in [0, 1] (what `harness preprocess` writes).
    """
    dtype = volume.dtype
    if dtype.fields is not None or dtype.kind not in "iuf":
        what = "complex" if dtype.kind == "c" else ("structured" if dtype.fields is not None else str(dtype))
        raise BadCase(path, f"{what} voxels (dtype {dtype}) are not real numbers; store a real-valued int or float "
                            "volume", case_id)
    if volume.size == 0:
        raise BadCase(path, f"empty volume of shape {tuple(volume.shape)}", case_id)
    if not processed and volume.ndim != 3:
        raise BadCase(path, f"expected a 3-D volume (D, H, W), got shape {tuple(volume.shape)}; store one "
                            "channel of one 3-D volume", case_id)
    if dtype.kind != "f" and not processed:
        return  # integers are finite and any HU range is clipped by the window
    low, high = float(np.min(volume)), float(np.max(volume))
    if not (np.isfinite(low) and np.isfinite(high)):
        bad = int(np.count_nonzero(~np.isfinite(volume)))
        raise BadCase(path, f"{bad} of {volume.size} voxels are NaN or infinite; replace them in the file (e.g. by "
                            "the background value)", case_id)
    if processed and (low < -1e-3 or high > 1 + 1e-3):
        raise BadCase(path, f"processed values span [{low:.4g}, {high:.4g}], outside [0, 1]; rerun harness "
                            "preprocess on the raw image", case_id)


def _read_sitk(path: Path) -> np.ndarray:
    if path.name.lower().endswith(".nii.gz"):
        volume = _read_nifti_gz(path)
        if volume is not None:
            return volume
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise BadCase(path, f"{image.GetNumberOfComponentsPerPixel()} components per voxel (a vector or colour "
                            "image); store one intensity per voxel")
    volume = sitk.GetArrayFromImage(image)
    if volume.ndim == 4:
        volume = volume[0]
    if volume.ndim != 3:
        raise BadCase(path, f"expected a 3-D or 4-D image, got {volume.ndim}-D")
    return volume


_NIFTI1_HEADER = 348


def _read_nifti_gz(path: Path) -> np.ndarray | None:
    """A 3-D or 4-D NIfTI-1 .nii.gz decoded with ISA-L (several times faster than zlib), as SimpleITK
    reads it: (z, y, x) order, the first volume of a 4-D image, scl_slope/scl_inter applied.

    Returns None (the caller falls back to SimpleITK) when python-isal is missing or the file is
    anything else (NIfTI-2, other dimensions, vector or complex voxels). The whole stream is decoded,
    so a truncated or corrupt file fails its length or CRC check as it does with SimpleITK.
    """
    try:
        from isal import igzip
    except ImportError:
        return None
    from nibabel.nifti1 import Nifti1Header

    with igzip.open(path, "rb") as stream:
        raw = stream.read(_NIFTI1_HEADER)
        if len(raw) < _NIFTI1_HEADER:
            raise BadCase(path, f"corrupt or truncated: {len(raw)}-byte NIfTI header")
        header = Nifti1Header(raw, check=False)
        if header["magic"].item() != b"n+1" or header["sizeof_hdr"].item() != _NIFTI1_HEADER:
            return None
        shape = header.get_data_shape()
        dtype = header.get_data_dtype()
        offset = int(header["vox_offset"].item())
        if len(shape) not in (3, 4) or dtype.kind not in "iuf" or dtype.fields is not None or offset < 352:
            return None
        stream.read(offset - _NIFTI1_HEADER)
        volume = np.empty(shape[2::-1], dtype.newbyteorder("="))
        buffer = memoryview(volume).cast("B")
        if stream.readinto(buffer) != buffer.nbytes:
            raise BadCase(path, "corrupt or truncated: fewer voxels than the header states")
        while stream.read(1 << 22):  # decode to the end: later volumes, then the CRC check
            pass
    if not dtype.isnative:
        volume.byteswap(inplace=True)
    slope, inter = header.get_slope_inter()
    if slope is not None and (slope, inter or 0.0) != (1.0, 0.0):
        volume = volume.astype(np.float32) * np.float32(slope) + np.float32(inter or 0.0)
    return volume


def _reason(exc: BaseException) -> str:
    """The informative first line of a reader's exception, shortened."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = next((line for line in lines if "rror" in line or "nable" in line), lines[0] if lines else "")
    detail = detail.split("): ")[-1] if "): " in detail else detail
    kind = type(exc).__name__
    return f"corrupt or truncated: {kind}: {detail[:160]}" if detail else f"corrupt or truncated: {kind}"


def window_normalise(volume: np.ndarray, window: Sequence[float]) -> np.ndarray:
    """Clip to the HU window, then min-max to [0, 1] (a constant volume becomes zeros).

    The clipped min and max are the raw ones clipped (found on the raw dtype); the rest runs in
    place on one float32 copy.
    """
    volume = np.asarray(volume)
    lo, hi = float(window[0]), float(window[1])
    low, high = (min(max(float(v), lo), hi) for v in (volume.min(), volume.max()))
    out = np.array(volume, dtype=np.float32)
    if high <= low:
        return np.zeros_like(out)
    np.clip(out, lo, hi, out=out)
    out -= np.float32(low)
    out *= np.float32(1.0 / (high - low))
    return out


def window_for(domain: str | None, hu_windows: Mapping[str, Sequence[float]] | None) -> tuple[float, float]:
    """The HU window of an image: its domain's among the model's windows; with no domain, the model's only one."""
    windows = dict(hu_windows or {})
    if domain is None:
        if len(windows) == 1:
            return tuple(next(iter(windows.values())))  # type: ignore[return-value]
        known = f"it has {len(windows)} ({', '.join(sorted(windows))})" if windows else "it has none"
        raise HarnessError(f"a raw image without a domain needs exactly one HU window in the model's recipe "
                           f"(hu_windows) and {known}; the task sets each request's domain, or give the recipe one "
                           "window")
    if domain not in windows:
        raise HarnessError(f"no HU window for domain {domain!r} in the model's recipe (hu_windows); known: "
                           f"{', '.join(sorted(windows)) or 'none'}")
    low, high = windows[domain]
    return float(low), float(high)


def prepare_image(
    case_or_path: Case | str | Path,
    *,
    input_size: Sequence[int],
    hu_windows: Mapping[str, Sequence[float]] | None = None,
    domain: str | None = None,
) -> torch.Tensor:
    """The model input of one case: a float32 tensor (1, D, H, W) in [0, 1].

    Raw volumes are windowed for their domain (`window_for`), min-max normalised and resized with the harness's
    anti-aliased resize (equal to `harness preprocess` followed by loading). Processed volumes are
    resized with MONAI's `Resize` when their size differs, as the reference loader does.
    """

    if isinstance(case_or_path, Case):
        if case_or_path.image is None:
            raise HarnessError(f"case {case_or_path.case_id} has no image path: load it with its task's load_data")
        path = Path(case_or_path.image)
        domain, case_id = domain or getattr(case_or_path, "domain", None), case_or_path.case_id
    else:
        path, case_id = Path(case_or_path), None
    size = tuple(int(s) for s in input_size)
    volume = load_volume(path, case_id=case_id)
    if is_processed(path):
        return _processed_tensor(volume, size, path, case_id)
    from harness.data.resize import window_resize

    return window_resize(volume, window_for(domain, hu_windows), size).unsqueeze(0)


def _processed_tensor(volume: np.ndarray, size: tuple[int, ...], path: Path, case_id: str | None) -> torch.Tensor:
    import torch

    try:
        array = np.array(volume, dtype=np.float32)  # a writable copy, never a view of a read-only memmap
    except (OSError, ValueError) as exc:
        raise BadCase(path, _reason(exc), case_id) from None
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[0] != 1:
        raise BadCase(path, f"expected a processed volume (1, D, H, W) or (D, H, W), got shape {array.shape}; "
                            "store one channel of one 3-D volume", case_id)
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tuple(tensor.shape[1:]) != size:
        from monai.transforms import Resize

        tensor = torch.as_tensor(Resize(size)(tensor)).float()
    return tensor
