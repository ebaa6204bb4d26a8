"""OptimWrapperDict: several named optimizer wrappers (e.g. a GAN's generator and discriminator)."""
from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from contextlib import contextmanager
from typing import Any, NoReturn

import torch
import torch.nn as nn

from .optimizer_wrapper import OptimWrapper


class OptimWrapperDict(OptimWrapper):
    """A dict of optimizer wrappers that exports and loads their states and settings together.

    It gives dict-style access (``optim_dict['gen']``, iteration, ``keys/values/items``) and
    collects the learning rates, momenta and state dicts of all wrappers, so the runner, hooks
    and checkpoints handle one object whether a model has one optimizer or several. It does
    not update parameters itself: call ``update_params`` and friends on the wrapper you mean.

    Args:
        **optim_wrapper_dict: The wrappers by name.

    Examples:
        >>> import torch.nn as nn
        >>> from torch.optim import SGD
        >>> gen, disc = nn.Linear(1, 1), nn.Linear(1, 1)
        >>> optim_dict = OptimWrapperDict(gen=OptimWrapper(SGD(gen.parameters(), lr=0.01)),
        ...                               disc=OptimWrapper(SGD(disc.parameters(), lr=0.02)))
        >>> optim_dict.get_lr()
        {'gen.lr': [0.01], 'disc.lr': [0.02]}
    """

    def __init__(self, **optim_wrapper_dict: OptimWrapper) -> None:
        for name, wrapper in optim_wrapper_dict.items():
            if not isinstance(wrapper, OptimWrapper):
                raise TypeError(f'Every value of OptimWrapperDict must be an OptimWrapper, but '
                                f'{name!r} is a {type(wrapper).__name__}. Build it with '
                                f'build_optim_wrapper first.')
        self.optim_wrappers = dict(optim_wrapper_dict)

    def _not_here(self, method: str) -> NoReturn:
        names = ', '.join(repr(name) for name in self.optim_wrappers) or 'none'
        raise NotImplementedError(
            f'OptimWrapperDict does not implement {method}: call it on the wrapper you mean, '
            f"e.g. optim_wrapper['{next(iter(self.optim_wrappers), 'name')}'].{method}(...) "
            f'(wrappers: {names}).')

    def update_params(self, loss: torch.Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None) -> None:
        """Not supported: raises ``NotImplementedError`` naming the wrappers to use."""
        self._not_here('update_params')

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Not supported: raises ``NotImplementedError`` naming the wrappers to use."""
        self._not_here('backward')

    def step(self, **kwargs: Any) -> None:
        """Not supported: raises ``NotImplementedError`` naming the wrappers to use."""
        self._not_here('step')

    def zero_grad(self, **kwargs: Any) -> None:
        """Not supported: raises ``NotImplementedError`` naming the wrappers to use."""
        self._not_here('zero_grad')

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Not supported: raises ``NotImplementedError`` naming the wrappers to use."""
        self._not_here('optim_context')
        yield  # pragma: no cover - unreachable, keeps this a generator

    def initialize_count_status(self, model: nn.Module, cur_iter: int, max_iters: int) -> None:
        """Initialize the iteration counters of every wrapper.

        Args:
            model: The trained model.
            cur_iter: Iterations already done.
            max_iters: Total number of training iterations.
        """
        for wrapper in self.optim_wrappers.values():
            wrapper.initialize_count_status(model, cur_iter, max_iters)

    @property
    def param_groups(self) -> dict[str, list[dict]]:  # type: ignore[override]
        """The parameter groups of every wrapper, by name."""
        return {name: wrapper.param_groups for name, wrapper in self.optim_wrappers.items()}

    def get_lr(self) -> dict[str, list[float]]:
        """Learning rates of every wrapper, keyed ``'<name>.lr'`` (and ``'<name>.base_lr'``)."""
        return self._collect('get_lr')

    def get_momentum(self) -> dict[str, list[float]]:
        """Momenta of every wrapper, keyed ``'<name>.momentum'``."""
        return self._collect('get_momentum')

    def _collect(self, getter: str) -> dict[str, list[float]]:
        result = {}
        for name, wrapper in self.optim_wrappers.items():
            for key, value in getattr(wrapper, getter)().items():
                result[f'{name}.{key}'] = value
        return result

    def state_dict(self) -> dict:
        """The state dict of every wrapper, by name."""
        return {name: wrapper.state_dict() for name, wrapper in self.optim_wrappers.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the state of every wrapper named in ``state_dict``.

        Args:
            state_dict: ``{name: state of that wrapper}`` as :meth:`state_dict` returns.

        Raises:
            KeyError: If ``state_dict`` names a wrapper this dict does not have.
        """
        unknown = [name for name in state_dict if name not in self.optim_wrappers]
        if unknown:
            raise KeyError(f'The state dict names optimizer wrappers {unknown} that this '
                           f'OptimWrapperDict does not have (it has {list(self.keys())}).')
        for name, state in state_dict.items():
            self.optim_wrappers[name].load_state_dict(state)

    def items(self) -> ItemsView[str, OptimWrapper]:
        """``(name, wrapper)`` pairs."""
        return self.optim_wrappers.items()

    def values(self) -> ValuesView[OptimWrapper]:
        """The wrappers."""
        return self.optim_wrappers.values()

    def keys(self) -> KeysView[str]:
        """The wrapper names."""
        return self.optim_wrappers.keys()

    def __getitem__(self, key: str) -> OptimWrapper:
        if key not in self.optim_wrappers:
            raise KeyError(f'No optimizer wrapper named {key!r}; the names are '
                           f'{list(self.keys())}.')
        return self.optim_wrappers[key]

    def __contains__(self, key: object) -> bool:
        return key in self.optim_wrappers

    def __len__(self) -> int:
        return len(self.optim_wrappers)

    def __iter__(self) -> Iterator[str]:
        return iter(self.optim_wrappers)

    def __repr__(self) -> str:
        body = ''.join(f'name: {name}\n{wrapper!r}' for name, wrapper in self.items())
        return f'Type: {type(self).__name__}\n{body}'
