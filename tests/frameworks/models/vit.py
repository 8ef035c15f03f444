"""timm's VisionTransformer at a small size, with its initialization as timm writes it.

Follows ``timm/models/vision_transformer.py`` (huggingface/pytorch-image-models):

* raw parameters: ``cls_token`` (``torch.zeros(1, 1, dim)``) and ``pos_embed``
  (``torch.randn(1, n, dim) * .02``), the older timm constructors; ``init_weights``
  overwrites both (``trunc_normal_(pos_embed, std=.02)``, ``normal_(cls_token, std=1e-6)``);
* layer scale: ``gamma = nn.Parameter(init_values * torch.ones(dim))`` (timm's ``LayerScale``);
* ``init_weights(mode)``: ``named_apply`` of ``init_weights_vit_timm`` (``Linear``:
  timm's ``trunc_normal_(std=.02)``, bias zeros) or ``init_weights_vit_jax`` (head zeros and
  ``head_bias``, other ``Linear`` ``xavier_uniform_`` with bias ``normal_(std=1e-6)`` in the
  MLP and zeros elsewhere, ``Conv2d`` ``lecun_normal_``); ``_init_weights(m)``, the compat
  method (``init_weights_vit_timm(m)``);
* ``needs_reset``: the constructor calls ``init_weights(weight_init, needs_reset=False)``, so
  the patch-embedding ``Conv2d`` and the ``LayerNorm`` layers keep their construction-time
  values in the timm mode; a later ``init_weights()`` calls their ``reset_parameters``
  (current timm). The old-style layer-scale ``gamma`` has no ``reset_parameters``: a later
  ``init_weights()`` leaves it as constructed.

The constructor runs the init like timm's. ``randn_pos_embed=False``
creates ``pos_embed`` with ``torch.zeros`` instead (newer timm uses ``torch.empty``), so that
the model's own code makes no draw outside the init functions.
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from .timm_init import lecun_normal_, trunc_normal_


def named_apply(fn, module: nn.Module, name: str = "", depth_first: bool = True, include_root: bool = False) -> nn.Module:
    """timm's ``named_apply`` (``timm/models/_manipulate.py``): ``fn(module=, name=)`` on every
    submodule, children before parents."""
    if not depth_first and include_root:
        fn(module=module, name=name)
    for child_name, child in module.named_children():
        child_name = ".".join((name, child_name)) if name else child_name
        named_apply(fn, child, child_name, depth_first, include_root=True)
    if depth_first and include_root:
        fn(module=module, name=name)
    return module


class LayerScale(nn.Module):
    def __init__(self, dim: int, init_values: float = 1e-5):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class PatchEmbed(nn.Module):
    def __init__(self, img_size: int, patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        out = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, in_features: int, hidden_features: int):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, init_values: float | None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, init_values) if init_values else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


def init_weights_vit_timm(module: nn.Module, name: str = "", needs_reset: bool = True) -> None:
    """ViT weight initialization, timm's original."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif hasattr(module, "init_weights"):
        module.init_weights()
    elif needs_reset and hasattr(module, "reset_parameters"):
        module.reset_parameters()


def init_weights_vit_jax(module: nn.Module, name: str = "", head_bias: float = 0.0, needs_reset: bool = True) -> None:
    """ViT weight initialization matching the JAX (Flax) implementation."""
    if isinstance(module, nn.Linear):
        if name.startswith("head"):
            nn.init.zeros_(module.weight)
            nn.init.constant_(module.bias, head_bias)
        else:
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.normal_(module.bias, std=1e-6) if "mlp" in name else nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        lecun_normal_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif hasattr(module, "init_weights"):
        module.init_weights()
    elif needs_reset and hasattr(module, "reset_parameters"):
        module.reset_parameters()


class VisionTransformer(nn.Module):
    """A small timm ``VisionTransformer``: patch 4 on 16x16 images, ``depth`` blocks.

    ``weight_init``: ``""`` (timm's), ``"jax"`` or ``"jax_nlhb"`` (head bias -log(classes)).
    """

    def __init__(self, img_size: int = 16, patch_size: int = 4, in_chans: int = 3, num_classes: int = 10,
                 embed_dim: int = 64, depth: int = 2, num_heads: int = 2, mlp_ratio: float = 4.0,
                 init_values: float | None = 1e-5, weight_init: str = "", randn_pos_embed: bool = True):
        super().__init__()
        self.num_classes = num_classes
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        n = self.patch_embed.num_patches + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n, embed_dim) * 0.02 if randn_pos_embed else torch.zeros(1, n, embed_dim))
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio, init_values) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        self.init_weights(weight_init, needs_reset=False)

    def init_weights(self, mode: str = "", needs_reset: bool = True) -> None:
        assert mode in ("jax", "jax_nlhb", "")
        head_bias = -math.log(self.num_classes) if "nlhb" in mode else 0.0
        trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        if mode.startswith("jax"):
            named_apply(partial(init_weights_vit_jax, head_bias=head_bias, needs_reset=needs_reset), self)
        else:
            named_apply(partial(init_weights_vit_timm, needs_reset=needs_reset), self)

    def _init_weights(self, m: nn.Module) -> None:
        init_weights_vit_timm(m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])
