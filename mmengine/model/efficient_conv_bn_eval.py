"""Efficient conv + frozen-BN forward: fold the batch norm into the conv weights on the fly.

When a batch norm after a convolution is in eval mode (frozen statistics, common when
fine-tuning detectors), ``bn(conv(x))`` equals a single convolution with rescaled weights and
a shifted bias. Computing those per call saves the memory of the intermediate activation
while keeping the conv and BN parameters trainable.
"""
from __future__ import annotations

import warnings
from operator import attrgetter

import torch
import torch.fx
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd


def efficient_conv_bn_eval_forward(bn: _BatchNorm, conv: _ConvNd,
                                   x: torch.Tensor) -> torch.Tensor:
    """``bn(conv(x))`` for ``bn`` in eval mode, as one convolution with folded weights."""
    running_var = bn.running_var
    ones, zeros = torch.ones_like(running_var), torch.zeros_like(running_var)
    bn_weight = bn.weight if bn.weight is not None else ones
    bn_bias = bn.bias if bn.bias is not None else zeros
    conv_bias = conv.bias if conv.bias is not None else zeros
    scale = bn_weight * torch.rsqrt(running_var + bn.eps)
    weight = conv.weight * scale.reshape([-1] + [1] * (conv.weight.dim() - 1))
    bias = bn_bias + scale * (conv_bias - bn.running_mean)
    return conv._conv_forward(x, weight, bias)


def efficient_conv_bn_eval_control(bn: _BatchNorm, conv: _ConvNd,
                                   x: torch.Tensor) -> torch.Tensor:
    """The folded forward when ``bn`` uses running statistics, else ``bn(conv(x))``."""
    if not bn.training and bn.track_running_stats:
        return efficient_conv_bn_eval_forward(bn, conv, x)
    return bn(conv(x))


def _conv_bn_pairs(fx_model: torch.fx.GraphModule) -> list[tuple[torch.fx.Node, torch.fx.Node]]:
    """(conv node, bn node) pairs where the conv's only user is the bn."""
    modules = dict(fx_model.named_modules())
    pairs = []
    for node in fx_model.graph.nodes:
        if node.op != 'call_module' or not isinstance(modules.get(node.target), _BatchNorm):
            continue
        source = node.args[0] if node.args else None
        if (isinstance(source, torch.fx.Node) and source.op == 'call_module'
                and isinstance(modules.get(source.target), _ConvNd)
                and not isinstance(modules[source.target], nn.modules.conv._ConvTransposeNd)
                and len(source.users) == 1):
            pairs.append((source, node))
    return pairs


def efficient_conv_bn_eval_graph_transform(fx_model: torch.fx.GraphModule) -> None:
    """Rewrite each conv -> bn pair of a traced model to ``efficient_conv_bn_eval_control``."""
    graph = fx_model.graph
    for conv_node, bn_node in _conv_bn_pairs(fx_model):
        with graph.inserting_before(conv_node):
            get_conv = graph.create_node('get_attr', conv_node.target, name='get_conv')
            get_bn = graph.create_node('get_attr', bn_node.target, name='get_bn')
        conv_node.op = 'call_function'
        conv_node.target = efficient_conv_bn_eval_control
        conv_node.args = (get_bn, get_conv, conv_node.args[0])
        bn_node.replace_all_uses_with(conv_node)
        graph.erase_node(bn_node)
    graph.lint()
    fx_model.recompile()


def turn_on_efficient_conv_bn_eval_for_single_model(model: nn.Module) -> None:
    """Trace ``model`` with ``torch.fx`` and make its forward use the folded conv-bn path.

    Models that cannot be traced are left unchanged, with a warning.
    """
    try:
        fx_model = torch.fx.symbolic_trace(model)
    except Exception as exc:  # untraceable control flow: keep the original forward
        warnings.warn(f'Cannot trace {type(model).__name__} with torch.fx ({exc}); efficient '
                      f'conv-bn eval is not enabled for it.', stacklevel=2)
        return
    efficient_conv_bn_eval_graph_transform(fx_model)
    # The traced module shares the original submodules, so parameters stay the same objects.
    model.forward = fx_model.forward


def turn_on_efficient_conv_bn_eval(model: nn.Module, modules: list[str] | str) -> None:
    """Enable the folded conv-bn path in the named submodules of ``model`` (e.g. 'backbone')."""
    for name in [modules] if isinstance(modules, str) else modules:
        turn_on_efficient_conv_bn_eval_for_single_model(attrgetter(name)(model))
