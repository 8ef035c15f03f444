"""transformers' own models from small configs (no download), and one loss on a fixed batch each.

Every entry of :data:`MODELS` is ``name -> (factory, loss)``: ``factory()`` builds the model
with transformers' own ``__init__`` (its ``_init_weights`` / ``transformers.initialization``
calls), ``loss(model)`` is its language-model loss on a fixed token batch (``None``: the model
has no head to score). ``VOCAB`` tokens, so chance level is ``log(VOCAB)``.
"""

from __future__ import annotations

import torch

VOCAB = 512
BATCH = (4, 16)


def tokens(seed: int = 0) -> torch.Tensor:
    """A fixed batch of token ids, from its own generator (not the global one)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, VOCAB, BATCH, generator=g)


def bert_config(layers: int = 2):
    from transformers import BertConfig

    return BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=layers, num_attention_heads=2,
                      intermediate_size=128, max_position_embeddings=64, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0)


def bert_model(layers: int = 2):
    from transformers import BertModel

    return BertModel(bert_config(layers))


def bert_mlm(layers: int = 2):
    from transformers import BertForMaskedLM

    return BertForMaskedLM(bert_config(layers))


def gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    return GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_positions=64, n_embd=64, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0,
                                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))


def llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64))


def t5():
    from transformers import T5Config, T5ForConditionalGeneration

    return T5ForConditionalGeneration(T5Config(vocab_size=VOCAB, d_model=64, d_kv=32, d_ff=128, num_layers=2,
                                               num_heads=2, dropout_rate=0.0, decoder_start_token_id=0))


def causal_lm_loss(model) -> float:
    ids = tokens()
    model.eval()
    with torch.no_grad():
        return float(model(input_ids=ids, labels=ids).loss)


def t5_loss(model) -> float:
    ids = tokens()
    model.eval()
    with torch.no_grad():
        return float(model(input_ids=ids, labels=tokens(1)).loss)


MODELS = {
    "BertModel": (bert_model, None),
    "BertForMaskedLM": (bert_mlm, causal_lm_loss),
    "GPT2LMHeadModel": (gpt2, causal_lm_loss),
    "LlamaForCausalLM": (llama, causal_lm_loss),
    "T5ForConditionalGeneration": (t5, t5_loss),
}
