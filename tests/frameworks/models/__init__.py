"""Small test models whose initialization code follows real libraries' code, statement for statement.

PyPI's torchvision for the pinned CPU torch is a CUDA build that cannot be imported next to
it, and timm needs torchvision, so their models' init code is reimplemented here (small
widths, few layers), each module citing the file it follows:

* :mod:`.resnet`: torchvision's ResNet (``kaiming_normal_(mode="fan_out")`` for every
  ``Conv2d``, BatchNorm 1/0, zero-init residual);
* :mod:`.timm_init` and :mod:`.vit`: timm's ``trunc_normal_`` / ``trunc_normal_tf_`` /
  ``variance_scaling_`` / ``lecun_normal_`` composites and its VisionTransformer (raw
  ``cls_token`` / ``pos_embed``, layer-scale ``gamma``, ``init_weights`` modes);
* :mod:`.nanogpt`: karpathy/nanoGPT's GPT (own LayerNorm with optional bias,
  ``apply(_init_weights)``, scaled ``c_proj`` init, ``wte`` tied to ``lm_head``);
* :mod:`.hf`: small configs of transformers' own models (BERT, GPT-2, Llama, T5).
"""
