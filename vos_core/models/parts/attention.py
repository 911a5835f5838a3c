"""Attention blocks on token sequences: single/multi-head cross-attention and self-attention.

Tokens are B×N×C (B: batch or objects, N: tokens, C: channels).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.models.parts.blocks import check_channels, check_widths


class Attention(nn.Module):
    """Scaled dot-product attention ``softmax(Q Kᵀ / √d) V`` with learned projections.

    q: B×N_q×C_q, k: B×N_k×C_k, v: B×N_k×C_v -> B×N_q×out_dim. ``d_k`` and ``d_v`` are the total
    projection widths, split evenly over ``heads``. With ``out_proj=False`` the heads' concatenated
    values are returned as they are (then ``out_dim`` must equal ``d_v``).
    """

    def __init__(
        self,
        q_dim: int,
        k_dim: int,
        v_dim: int,
        d_k: int = 64,
        d_v: int | None = None,
        heads: int = 1,
        out_dim: int | None = None,
        out_proj: bool = True,
    ) -> None:
        super().__init__()
        d_v = d_v or v_dim
        out_dim = out_dim or q_dim
        check_widths("Attention", (q_dim, k_dim, v_dim, d_k, d_v, heads, out_dim))
        if d_k % heads or d_v % heads:
            raise ValueError(f"d_k={d_k} and d_v={d_v} must be divisible by heads={heads}")
        if not out_proj and out_dim != d_v:
            raise ValueError("without an output projection out_dim must equal d_v")
        self.q_dim, self.k_dim, self.v_dim = q_dim, k_dim, v_dim
        self.heads, self.d_k, self.d_v, self.out_dim = heads, d_k, d_v, out_dim
        self.wq = nn.Linear(q_dim, d_k)
        self.wk = nn.Linear(k_dim, d_k)
        self.wv = nn.Linear(v_dim, d_v)
        self.wo = nn.Linear(d_v, out_dim) if out_proj else None

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.view(b, n, self.heads, c // self.heads).transpose(1, 2)  # B×heads×N×c

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, with_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> (output B×N_q×out_dim, attention summed over heads and queries B×N_k or None)."""
        check_channels("Attention query", q, self.q_dim, dim=2)
        check_channels("Attention key", k, self.k_dim, dim=2)
        check_channels("Attention value", v, self.v_dim, dim=2)
        qh, kh, vh = self._split(self.wq(q)), self._split(self.wk(k)), self._split(self.wv(v))
        weights_sum = None
        if with_weights:
            w = torch.softmax(qh @ kh.transpose(-1, -2) / (qh.shape[-1] ** 0.5), dim=-1)
            out = w @ vh
            weights_sum = w.sum(dim=(1, 2)) / self.heads  # B×N_k
        else:
            out = F.scaled_dot_product_attention(qh, kh, vh)
        b, _, n, _ = out.shape
        out = out.transpose(1, 2).reshape(b, n, self.d_v)
        if self.wo is not None:
            out = self.wo(out)
        return out, weights_sum


class AttentionBlock(nn.Module):
    """Residual attention block with layer norm and an optional feed-forward network.

    ``norm="post"``: ``x = LN(x + Attn(x, kv))`` (SITVOS Eq. 2-4); ``"pre"``: ``x = x + Attn(LN(x), kv)``.
    Self-attention when ``kv`` is None. Position embeddings (if given) are added to queries and keys,
    never to values. x: B×N×C, kv: B×M×C_kv, value: B×M×C_v (defaults to kv) -> B×N×C.
    """

    def __init__(
        self,
        dim: int,
        kv_dim: int | None = None,
        value_dim: int | None = None,
        d_k: int = 64,
        heads: int = 1,
        norm: Literal["post", "pre"] = "post",
        ffn: bool = False,
        ffn_ratio: int = 2,
        out_proj: bool = True,
    ) -> None:
        super().__init__()
        kv_dim = kv_dim or dim
        value_dim = value_dim or kv_dim
        self.dim, self.norm_mode = dim, norm
        self.attn = Attention(dim, kv_dim, value_dim, d_k=d_k, d_v=dim, heads=heads, out_dim=dim,
                              out_proj=out_proj)
        self.norm = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(kv_dim) if norm == "pre" else None
        self.ffn = (
            nn.Sequential(nn.Linear(dim, dim * ffn_ratio), nn.GELU(), nn.Linear(dim * ffn_ratio, dim))
            if ffn
            else None
        )
        self.norm_ffn = nn.LayerNorm(dim) if ffn else None

    def forward(
        self,
        x: torch.Tensor,
        kv: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        pos_q: torch.Tensor | None = None,
        pos_k: torch.Tensor | None = None,
        with_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> (B×N×C output, attention summed over queries B×M or None)."""
        check_channels("AttentionBlock", x, self.dim, dim=2)
        self_attn = kv is None
        if self.norm_mode == "pre":
            xin = self.norm(x)
            kvin = xin if self_attn else self.norm_kv(kv)  # type: ignore[misc]
        else:
            xin = x
            kvin = x if self_attn else kv
        assert kvin is not None
        val = kvin if value is None else value
        q = xin if pos_q is None else xin + pos_q
        k = kvin if pos_k is None else kvin + pos_k
        if self_attn and pos_k is None and pos_q is not None:
            k = q
        out, weights = self.attn(q, k, val, with_weights=with_weights)
        x = x + out if self.norm_mode == "pre" else self.norm(x + out)
        if self.ffn is not None:
            assert self.norm_ffn is not None
            if self.norm_mode == "pre":
                x = x + self.ffn(self.norm_ffn(x))
            else:
                x = self.norm_ffn(x + self.ffn(x))
        return x, weights
