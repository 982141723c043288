"""DeepLIFT refuses what it has no exact rule for, and names the module or operation at fault.

An attention's ``out_proj`` is an ``nn.Linear`` (a linear layer has a rule): the obstacle is the
attention itself, whichever door the model comes through. A non-linearity called as a function is
named with the module whose forward calls it, the model itself included.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tsexplain
from tsexplain.exceptions import ModelOutputError

X = torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(0))


class TransformerClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Linear(3, 8)
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.inp(x.transpose(1, 2))).mean(1))


class FunctionalReLU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(-1))


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(x).mean(-1))


class OwnAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(8, 24)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(h).chunk(3, -1)
        return F.scaled_dot_product_attention(q, k, v)


class OwnAttentionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(3, 8)
        self.att = OwnAttention()
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.att(self.inp(x.transpose(1, 2))).mean(1))


def refusal(model: nn.Module, method: str = "deeplift") -> str:
    with pytest.raises(ModelOutputError) as err:
        tsexplain.explain(model, X, method, target=0)
    return str(err.value)


@pytest.mark.parametrize("method", ["deeplift", "deeplift_shap"])
def test_a_transformer_is_refused_for_its_attention_not_its_out_proj(method):
    message = refusal(TransformerClassifier().eval(), method)
    assert "no DeepLIFT rule for layer 'enc.layers.0.self_attn' (MultiheadAttention): attention multiplies " in message
    assert "out_proj" not in message


def test_an_exported_transformer_is_refused_for_its_attention(tmp_path):
    """In a .pt2 the attention's out_proj becomes a bare nn.Module holding the weights (it was
    named as a layer without a rule); the attention is named as for the module."""
    from tsexplain.io import load_any_model

    net = TransformerClassifier().eval()
    program = torch.export.export(net, (X,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, tmp_path / "m.pt2")
    message = refusal(load_any_model(tmp_path / "m.pt2").module)
    assert "no DeepLIFT rule for layer 'enc.layers.0.self_attn' (MultiheadAttention): attention multiplies " in message
    assert "out_proj" not in message


def test_a_function_call_is_named_with_the_module_whose_forward_calls_it():
    message = refusal(FunctionalReLU().eval())
    assert "the forward of the model (FunctionalReLU) applies relu, an operation without" in message
    assert "nn.ReLU()" in message and "<model>" not in message
    message = refusal(Nested().eval())
    assert "the forward of 'block' (Block) applies relu, an operation without" in message


def test_an_attention_written_as_functions_is_named_as_attention():
    message = refusal(OwnAttentionNet().eval())
    assert "the forward of 'att' (OwnAttention) applies scaled_dot_product_attention" in message
    assert "attention multiplies two functions of the input" in message
