"""Between torch tensors and numpy buffers: which tensors can be filled, and filling them in place.

A CPU tensor that is C-contiguous is filled through a numpy view of its own storage (no copy);
bfloat16 goes through a uint16 view, since ``torch.from_numpy`` rejects ml_dtypes' bfloat16.
Any other tensor (non-contiguous, or on a GPU) gets its values made in a host buffer of its
shape, then one ``copy_`` (for a GPU: one host-to-device copy). The values of a tensor are
always those of the C-order variable of its shape, whatever its strides.

Example:
    >>> import torch
    >>> t = torch.empty(2, 3)
    >>> np_view = host_view(t)
    >>> np_view.shape, np_view.dtype.name
    ((6,), 'float32')
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ArgumentTypeError, ArgumentValueError
from ..validation import resolve_dtype

#: The tensor dtypes reprovar fills, and the numpy dtype name of each.
FLOAT_DTYPES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
}

_TORCH_OF_NAME = {name: dtype for dtype, name in FLOAT_DTYPES.items()}


def check_tensor(tensor: object, param: str = "tensor") -> np.dtype:
    """The numpy dtype of a tensor reprovar can fill; a clear error naming ``param`` otherwise.

    Example:
        >>> import torch
        >>> check_tensor(torch.empty(2, dtype=torch.bfloat16)).name
        'bfloat16'
        >>> check_tensor(torch.zeros(2, dtype=torch.int64))
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentTypeError: tensor must be a floating-point tensor (float32, float64, float16, bfloat16), got dtype torch.int64
    """
    if not isinstance(tensor, torch.Tensor):
        raise ArgumentTypeError(f"{param} must be a torch.Tensor, got {type(tensor).__name__}")
    if isinstance(tensor, torch.nn.parameter.UninitializedParameter):
        raise ArgumentValueError(
            f"{param} is an uninitialized (lazy) parameter; run a forward pass to give it a shape first"
        )
    name = FLOAT_DTYPES.get(tensor.dtype)
    if name is None:
        raise ArgumentTypeError(
            f"{param} must be a floating-point tensor ({', '.join(FLOAT_DTYPES.values())}), "
            f"got dtype {tensor.dtype}"
        )
    if tensor.device.type == "meta":
        raise ArgumentValueError(f"{param} is on the meta device: it has no storage to fill")
    if tensor.is_sparse or tensor.layout != torch.strided:
        raise ArgumentValueError(f"{param} must be a dense (strided) tensor, got layout {tensor.layout}")
    return resolve_dtype(name)


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of a reprovar dtype name.

    Example:
        >>> torch_dtype("bfloat16")
        torch.bfloat16
    """
    return _TORCH_OF_NAME[name]


def host_view(tensor: torch.Tensor) -> np.ndarray | None:
    """A writeable flat numpy view of ``tensor``'s own storage, or None when there is none.

    Only CPU tensors in C order (``is_contiguous()``) have one; the caller checked the dtype.
    """
    if tensor.device.type != "cpu" or not tensor.is_contiguous():
        return None
    flat = tensor.detach().reshape(-1)  # a view: the tensor is contiguous
    if flat.dtype == torch.bfloat16:
        return flat.view(torch.uint16).numpy().view(resolve_dtype("bfloat16"))
    return flat.numpy()


def as_tensor(values: np.ndarray) -> torch.Tensor:
    """A CPU tensor sharing ``values``' memory (bfloat16 through a uint16 view).

    Example:
        >>> import numpy as np
        >>> as_tensor(np.ones(2, np.float32)).dtype
        torch.float32
    """
    if values.dtype.name == "bfloat16":
        return torch.from_numpy(values.view(np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(values)


def write(tensor: torch.Tensor, values: np.ndarray) -> None:
    """Copy ``values`` (C order, the tensor's shape and dtype) into ``tensor``, in place.

    One ``copy_`` on a detached alias: autograd state (``requires_grad``, ``grad``) is kept,
    the version counter moves as for any in-place operation, and a GPU tensor gets one
    host-to-device copy.
    """
    view = host_view(tensor)
    if view is not None:  # a CPU tensor in C order: a plain memory copy
        np.copyto(view, values.reshape(-1))
        written_in_place(tensor)
        return
    source = as_tensor(values).reshape(tensor.shape)
    with torch.no_grad():
        tensor.detach().copy_(source)


def written_in_place(tensor: torch.Tensor) -> None:
    """Tell autograd that ``tensor``'s storage was written behind its back (through numpy).

    Like any in-place operation, this bumps the version counter, so a graph that saved the
    old values raises instead of silently using the new ones.
    """
    torch.autograd.graph.increment_version(tensor)
