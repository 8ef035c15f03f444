"""timm's weight-init helpers: composites of in-place tensor ops, not ``torch.nn.init`` calls.

Follows ``timm/layers/weight_init.py`` (huggingface/pytorch-image-models):

* ``trunc_normal_``: ``uniform_(2l-1, 2u-1)``, ``erfinv_()``, ``mul_(std*sqrt(2))``,
  ``add_(mean)``, ``clamp_(a, b)`` with l, u the normal CDF at the bounds (bounds apply to
  the scaled values);
* ``trunc_normal_tf_``: the same at mean 0, std 1, then ``mul_(std).add_(mean)`` (bounds
  apply to the standard normal);
* ``variance_scaling_``: scale/fan, then a truncated normal (``trunc_normal_tf_`` with the
  std divided by 0.8796..., the std of a standard normal truncated to ±2), ``normal_`` or
  ``uniform_``;
* ``lecun_normal_``: ``variance_scaling_(mode="fan_in", distribution="truncated_normal")``.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch.nn.init import _calculate_fan_in_and_fan_out

#: The standard deviation of a standard normal truncated to (-2, 2).
TRUNCATED_STD = 0.87962566103423978


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _trunc_normal_(tensor: torch.Tensor, mean: float, std: float, a: float, b: float) -> torch.Tensor:
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b]; the distribution may be off", stacklevel=2)
    lo = _norm_cdf((a - mean) / std)
    hi = _norm_cdf((b - mean) / std)
    # Uniform on [2lo-1, 2hi-1], then the inverse CDF of the normal (through erfinv).
    tensor.uniform_(2 * lo - 1, 2 * hi - 1)
    tensor.erfinv_()
    tensor.mul_(std * math.sqrt(2.0))
    tensor.add_(mean)
    tensor.clamp_(min=a, max=b)
    return tensor


def trunc_normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> torch.Tensor:
    """N(mean, std²) truncated to [a, b] (bounds on the values themselves)."""
    with torch.no_grad():
        return _trunc_normal_(tensor, mean, std, a, b)


def trunc_normal_tf_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> torch.Tensor:
    """A standard normal truncated to [a, b], then scaled by std and shifted by mean."""
    with torch.no_grad():
        _trunc_normal_(tensor, 0, 1.0, a, b)
        tensor.mul_(std).add_(mean)
    return tensor


def variance_scaling_(tensor: torch.Tensor, scale: float = 1.0, mode: str = "fan_in", distribution: str = "normal") -> None:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    denom = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / denom
    if distribution == "truncated_normal":
        trunc_normal_tf_(tensor, std=math.sqrt(variance) / TRUNCATED_STD)
    elif distribution == "normal":
        with torch.no_grad():
            tensor.normal_(std=math.sqrt(variance))
    elif distribution == "uniform":
        bound = math.sqrt(3 * variance)
        with torch.no_grad():
            tensor.uniform_(-bound, bound)
    else:
        raise ValueError(f"invalid distribution {distribution}")


def lecun_normal_(tensor: torch.Tensor) -> None:
    variance_scaling_(tensor, mode="fan_in", distribution="truncated_normal")
