"""``MMSeparateDistributedDataParallel``: one DDP per trainable submodule (e.g. GANs)."""
from __future__ import annotations

from contextlib import ExitStack, contextmanager
from typing import Any, Iterator

import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from mmengine.device import get_device
from mmengine.registry import MODEL_WRAPPERS

from .distributed import MMDistributedDataParallel


@MODEL_WRAPPERS.register_module()
class MMSeparateDistributedDataParallel(DistributedDataParallel):
    """Wrap each trainable child of ``module`` in its own ``MMDistributedDataParallel``.

    For models whose parts are optimized separately (a generator and a discriminator with
    their own optimizers): the model's own ``train_step`` drives them, and each part syncs
    its gradients independently. Children without trainable parameters are only moved to the
    device. This wrapper itself is not a DDP: it never runs a forward pass of its own.

    Args:
        module: The model (a ``BaseModel`` with its own ``train_step``).
        broadcast_buffers: Passed to each child's DDP. Defaults to False.
        find_unused_parameters: Passed to each child's DDP. Defaults to False.
        **kwargs: Passed to each child's DDP.
    """

    def __init__(self, module: nn.Module, broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False, **kwargs: Any) -> None:
        # Deliberately skip DistributedDataParallel.__init__: the children are the DDPs.
        nn.Module.__init__(self)
        device = get_device()
        self.module = module
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            child = child.to(device)
            if any(p.requires_grad for p in child.parameters()):
                child = MMDistributedDataParallel(
                    module=child, broadcast_buffers=broadcast_buffers,
                    find_unused_parameters=find_unused_parameters, **kwargs)
            module._modules[name] = child

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> Any:
        """The module's ``train_step`` (it drives its DDP-wrapped parts)."""
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data: dict | tuple | list) -> Any:
        """The module's ``val_step``."""
        return self.module.val_step(data)

    def test_step(self, data: dict | tuple | list) -> Any:
        """The module's ``test_step``."""
        return self.module.test_step(data)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Disable gradient sync in every wrapped child."""
        with ExitStack() as stack:
            for child in self.module._modules.values():
                if isinstance(child, DistributedDataParallel):
                    stack.enter_context(child.no_sync())
            yield

    def train(self, mode: bool = True) -> MMSeparateDistributedDataParallel:
        """Set training mode on the wrapped model."""
        self.training = mode
        self.module.train(mode)
        return self
