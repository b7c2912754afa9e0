"""The multi-codebook transformer shared by AudioGen and MAGNeT (audiocraft's `LMModel` minus conditioning).

Summed per-codebook embeddings, audiocraft's sinusoidal positions, pre-norm layers with self-attention,
cross-attention to the text conditioning and an exact-GELU FFN, no biases, a final norm and one head per
codebook. AudioGen runs it causally with a KV cache; MAGNeT runs it bidirectionally and passes a band mask.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache, DynamicCache, EncoderDecoderCache
from transformers.masking_utils import create_causal_mask
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from ..models.audiogen.configuration_audiogen import AudioGenDecoderConfig
from .fused_projections import live_fused


def sinusoidal_embedding(
    positions: torch.Tensor, dim: int, max_period: float = 10000.0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """audiocraft's `create_sin_embedding`: `[cos, sin]` of `pos / max_period ** (i / (half - 1))`.

    `positions` is `[..., T]`; returns `[..., T, dim]`. Computed in float32 (the `half - 1` denominator and the
    power form are kept for bit-closeness with audiocraft), then cast to `dtype`.
    """
    half = dim // 2
    positions = positions.to(torch.float32)[..., None]
    exponent = torch.arange(half, device=positions.device, dtype=torch.float32) / (half - 1)
    phase = positions / torch.full([], max_period, device=positions.device, dtype=torch.float32) ** exponent
    return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1).to(dtype)


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference attention (`[B, H, T, D]` layout in, `[B, T, H, D]` out) with an additive mask."""
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        weights = weights + attention_mask[:, :, :, : key.shape[-2]]
    weights = nn.functional.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    return output, weights


class AudioGenAttention(nn.Module):
    """Multi-head attention without biases; self-attention (optionally causal) or cross-attention."""

    def __init__(self, config: AudioGenDecoderConfig, layer_idx: int, is_cross_attention: bool = False):
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx
        self.is_cross_attention = is_cross_attention
        self.is_causal = config.is_causal and not is_cross_attention
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.num_key_value_groups = 1
        self.scaling = self.head_dim**-0.5
        self.dropout = config.attention_dropout
        dim = config.hidden_size
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.o_proj = nn.Linear(dim, dim, bias=False)

    def _project(self, proj: nn.Module, states: torch.Tensor) -> torch.Tensor:
        return self._heads(proj(states))

    def _heads(self, states: torch.Tensor) -> torch.Tensor:
        return states.view(*states.shape[:-1], -1, self.head_dim).transpose(1, 2)

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        **kwargs,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        fused = None if self.is_cross_attention else live_fused(self)
        if fused is not None:  # q, k, v in one matmul (fused_projections.py)
            query, key, value = (self._heads(states) for states in fused(hidden_states))
        else:
            query = self._project(self.q_proj, hidden_states)
        cache = None
        if isinstance(past_key_values, EncoderDecoderCache):
            cache = (
                past_key_values.cross_attention_cache
                if self.is_cross_attention
                else past_key_values.self_attention_cache
            )
        elif past_key_values is not None and not self.is_cross_attention:
            cache = past_key_values

        if self.is_cross_attention and cache is not None and past_key_values.is_updated.get(self.layer_idx):
            key = cache.layers[self.layer_idx].keys
            value = cache.layers[self.layer_idx].values
        else:
            if fused is None:
                source = key_value_states if self.is_cross_attention else hidden_states
                key = self._project(self.k_proj, source)
                value = self._project(self.v_proj, source)
            if cache is not None:
                key, value = cache.update(key, value, self.layer_idx)
                if self.is_cross_attention:
                    past_key_values.is_updated[self.layer_idx] = True

        attention: Callable = ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation, eager_attention_forward
        )
        output, weights = attention(
            self,
            query,
            key,
            value,
            attention_mask,
            dropout=self.dropout if self.training else 0.0,
            scaling=self.scaling,
            is_causal=self.is_causal and attention_mask is None,
            **kwargs,
        )
        output = output.reshape(*hidden_states.shape[:-1], -1).contiguous()
        return self.o_proj(output), weights


class AudioGenDecoderLayer(GradientCheckpointingLayer):
    """Pre-norm layer: x + SelfAttn(norm1 x); x + CrossAttn(norm_cross x, cond); x + FFN(norm2 x)."""

    def __init__(self, config: AudioGenDecoderConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        dim, eps = config.hidden_size, config.layer_norm_eps
        self.self_attn_layer_norm = nn.LayerNorm(dim, eps=eps)
        self.self_attn = AudioGenAttention(config, layer_idx)
        self.encoder_attn_layer_norm = nn.LayerNorm(dim, eps=eps)
        self.encoder_attn = AudioGenAttention(config, layer_idx, is_cross_attention=True)
        self.final_layer_norm = nn.LayerNorm(dim, eps=eps)
        self.fc1 = nn.Linear(dim, config.ffn_dim, bias=False)
        self.fc2 = nn.Linear(config.ffn_dim, dim, bias=False)
        self.activation = ACT2FN[config.activation_function]
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        **kwargs,
    ) -> torch.Tensor:
        attended, _ = self.self_attn(
            self.self_attn_layer_norm(hidden_states),
            attention_mask=attention_mask,
            past_key_values=past_key_values,
            **kwargs,
        )
        hidden_states = hidden_states + self.dropout(attended)
        attended, _ = self.encoder_attn(
            self.encoder_attn_layer_norm(hidden_states),
            key_value_states=encoder_hidden_states,
            past_key_values=past_key_values,
            **kwargs,
        )
        hidden_states = hidden_states + self.dropout(attended)
        feed_forward = self.fc2(self.dropout(self.activation(self.fc1(self.final_layer_norm(hidden_states)))))
        return hidden_states + self.dropout(feed_forward)


class AudioGenPreTrainedModel(PreTrainedModel):
    """Weight init and attention flags shared by the decoder (audiocraft's `_init_weights` for training from scratch)."""

    config: AudioGenDecoderConfig
    config_class = AudioGenDecoderConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["AudioGenDecoderLayer"]
    _supports_sdpa = True
    _supports_flash_attn = False
    _supports_flex_attn = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # audiocraft: `weight_init=gaussian` (truncated normal, std 1/sqrt(fan_in)), depthwise-scaled inside
        # layer i by 1/sqrt(2 (i + 1)); q/k/v keep PyTorch's default Linear init (audiocraft's in_proj quirk).
        if isinstance(module, AudioGenDecoderLayer):
            depth_scale = 1.0 / math.sqrt(2 * (module.layer_idx + 1))
            for attention in (module.self_attn, module.encoder_attn):
                for proj in (attention.q_proj, attention.k_proj, attention.v_proj):
                    bound = 1.0 / math.sqrt(proj.in_features)
                    init.uniform_(proj.weight, -bound, bound)
                _trunc_normal_fan_in(attention.o_proj.weight, depth_scale)
            _trunc_normal_fan_in(module.fc1.weight, depth_scale)
            _trunc_normal_fan_in(module.fc2.weight, depth_scale)
        elif isinstance(module, AudioGenDecoder):
            for embedding in module.embed_tokens:
                _trunc_normal_fan_in(embedding.weight, 1.0, fan_in=embedding.embedding_dim)
            for head in module.lm_heads:
                _trunc_normal_fan_in(head.weight, 1.0)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)


def _trunc_normal_fan_in(weight: torch.Tensor, scale: float, fan_in: int | None = None) -> None:
    std = scale / math.sqrt(fan_in if fan_in is not None else weight.shape[1])
    init.trunc_normal_(weight, mean=0.0, std=std, a=-3 * std, b=3 * std)


class AudioGenDecoder(AudioGenPreTrainedModel):
    """Codes `[B, K, S]` (ids in `[0, vocab_size]`) and conditioning `[B, L, D]` to logits `[B, K, S, vocab_size]`."""

    def __init__(self, config: AudioGenDecoderConfig):
        super().__init__(config)
        dim = config.hidden_size
        self.embed_tokens = nn.ModuleList(
            [nn.Embedding(config.vocab_size + 1, dim) for _ in range(config.num_codebooks)]
        )
        self.layers = nn.ModuleList(
            [AudioGenDecoderLayer(config, i) for i in range(config.num_hidden_layers)]
        )
        self.norm = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.lm_heads = nn.ModuleList(
            [nn.Linear(dim, config.vocab_size, bias=False) for _ in range(config.num_codebooks)]
        )
        self.gradient_checkpointing = False
        self.post_init()

    @property
    def num_codebooks(self) -> int:
        """As MusicGen's `model.decoder.num_codebooks`."""
        return self.config.num_codebooks

    def embed_codes(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Sum of the per-codebook embeddings (in codebook order, as audiocraft's Python `sum`)."""
        hidden = self.embed_tokens[0](input_ids[:, 0])
        for k in range(1, len(self.embed_tokens)):
            hidden = hidden + self.embed_tokens[k](input_ids[:, k])
        return hidden

    def forward(
        self,
        input_ids: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        use_cache: bool = False,
        codebooks: list[int] | None = None,
        **kwargs,
    ) -> tuple[torch.Tensor, Cache | None]:
        """Return `(logits [B, K, S, V], cache)`; with `codebooks`, only those heads run (MAGNeT needs one per step).

        `attention_mask` is an optional 4D additive self-attention mask (MAGNeT's band); when it is None the
        self-attention is causal for AudioGen (`config.is_causal`) and full otherwise. Cross-attention never masks:
        padded text positions are zero vectors that still take part in the softmax, as in audiocraft.
        """
        if input_ids.dim() != 3 or input_ids.shape[1] != self.config.num_codebooks:
            raise ValueError(
                f"input_ids must be [batch, {self.config.num_codebooks} codebooks, steps], got {tuple(input_ids.shape)}"
            )
        if use_cache and past_key_values is None:
            past_key_values = EncoderDecoderCache(DynamicCache(), DynamicCache())
        offset = past_key_values.get_seq_length() if past_key_values is not None else 0
        hidden = self.embed_codes(input_ids)
        positions = torch.arange(input_ids.shape[-1], device=hidden.device) + offset
        hidden = hidden + self.config.positional_scale * sinusoidal_embedding(
            positions, self.config.hidden_size, self.config.max_period, hidden.dtype
        )
        if attention_mask is None and self.config.is_causal:
            self_cache = (
                past_key_values.self_attention_cache
                if isinstance(past_key_values, EncoderDecoderCache)
                else past_key_values
            )
            attention_mask = create_causal_mask(self.config, hidden, None, self_cache)
        encoder_hidden_states = encoder_hidden_states.to(hidden.dtype)
        for layer in self.layers:
            hidden = layer(hidden, encoder_hidden_states, attention_mask, past_key_values, **kwargs)
        hidden = self.norm(hidden)
        heads = range(len(self.lm_heads)) if codebooks is None else codebooks
        fused = live_fused(self) if codebooks is None else None  # every head in one matmul
        per_head = fused(hidden) if fused is not None else [self.lm_heads[k](hidden) for k in heads]
        logits = torch.stack(per_head, dim=1)
        return logits, past_key_values
