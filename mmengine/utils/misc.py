"""Small general-purpose helpers: type checks, casting, decorators, module imports."""
from __future__ import annotations

import collections.abc
import functools
import importlib
import inspect
import itertools
import shutil
import warnings
from collections.abc import Callable, Iterable
from importlib.util import find_spec
from types import ModuleType
from typing import Any


def _ntuple(n: int) -> Callable[[Any], tuple]:
    """Build a converter that repeats a scalar ``n`` times and passes iterables through."""

    def parse(x: Any) -> tuple:
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(itertools.repeat(x, n))

    parse.__name__ = f'to_{n}tuple'
    return parse


to_1tuple = _ntuple(1)
to_2tuple = _ntuple(2)
to_3tuple = _ntuple(3)
to_4tuple = _ntuple(4)
to_ntuple = _ntuple


def is_str(x: Any) -> bool:
    """Return whether ``x`` is a ``str``.

    Examples:
        >>> is_str('a'), is_str(1)
        (True, False)
    """
    return isinstance(x, str)


def import_modules_from_strings(imports: str | list[str] | None,
                                allow_failed_imports: bool = False
                                ) -> ModuleType | list[ModuleType | None] | None:
    """Import modules named by strings.

    Args:
        imports: One module name or a list of them. ``None`` or empty imports nothing.
        allow_failed_imports: If True, a module that fails to import is warned about and
            returned as ``None`` instead of raising.

    Returns:
        The module (for a single string), a list of modules, or ``None`` when nothing was asked.

    Raises:
        TypeError: ``imports`` is neither a string nor a list of strings.
        ImportError: a module cannot be imported and ``allow_failed_imports`` is False.
    """
    if not imports:
        return None
    single = isinstance(imports, str)
    names = [imports] if single else imports
    if not isinstance(names, list):
        raise TypeError(f'custom imports must be a str or a list of str, got {type(imports)}')
    modules: list[ModuleType | None] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f'each custom import must be a str, got {name!r} ({type(name)})')
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            if not allow_failed_imports:
                raise
            warnings.warn(f'{name} failed to import and is ignored.', UserWarning)
            modules.append(None)
    return modules[0] if single else modules


def iter_cast(inputs: Iterable, dst_type: type, return_type: type | None = None) -> Any:
    """Cast every element of an iterable to ``dst_type``.

    Args:
        inputs: The iterable to cast.
        dst_type: The type each element is converted to.
        return_type: The container type to build; ``None`` returns a lazy iterator.

    Raises:
        TypeError: ``inputs`` is not iterable or ``dst_type`` is not a type.

    Examples:
        >>> iter_cast(['1', '2'], int, list)
        [1, 2]
    """
    if not isinstance(inputs, collections.abc.Iterable):
        raise TypeError(f'inputs must be an iterable object, got {type(inputs)}')
    if not isinstance(dst_type, type):
        raise TypeError(f'"dst_type" must be a valid type, got {dst_type!r}')
    out = map(dst_type, inputs)
    return out if return_type is None else return_type(out)


def list_cast(inputs: Iterable, dst_type: type) -> list:
    """Cast the elements of an iterable to ``dst_type`` and return a list."""
    return iter_cast(inputs, dst_type, return_type=list)


def tuple_cast(inputs: Iterable, dst_type: type) -> tuple:
    """Cast the elements of an iterable to ``dst_type`` and return a tuple."""
    return iter_cast(inputs, dst_type, return_type=tuple)


def is_seq_of(seq: Any, expected_type: type | tuple, seq_type: type | None = None) -> bool:
    """Return whether ``seq`` is a sequence (of ``seq_type``) whose items are ``expected_type``.

    Examples:
        >>> is_seq_of([1, 2], int), is_seq_of((1, 'a'), int), is_seq_of([1], int, tuple)
        (True, False, False)
    """
    exp_seq_type = collections.abc.Sequence if seq_type is None else seq_type
    if not isinstance(exp_seq_type, type):
        raise TypeError(f'seq_type must be a type, got {seq_type!r}')
    if not isinstance(seq, exp_seq_type):
        return False
    return all(isinstance(item, expected_type) for item in seq)


def is_list_of(seq: Any, expected_type: type | tuple) -> bool:
    """Return whether ``seq`` is a list whose items are all ``expected_type``."""
    return is_seq_of(seq, expected_type, seq_type=list)


def is_tuple_of(seq: Any, expected_type: type | tuple) -> bool:
    """Return whether ``seq`` is a tuple whose items are all ``expected_type``."""
    return is_seq_of(seq, expected_type, seq_type=tuple)


def slice_list(in_list: list, lens: int | list[int]) -> list[list]:
    """Split a list into consecutive pieces of the given lengths.

    Args:
        in_list: The list to split.
        lens: One length (every piece has it) or a list of lengths summing to ``len(in_list)``.

    Raises:
        TypeError: ``lens`` is neither an int nor a list of ints.
        ValueError: the lengths do not add up to the list's length.

    Examples:
        >>> slice_list([1, 2, 3, 4, 5], [2, 3])
        [[1, 2], [3, 4, 5]]
    """
    if isinstance(lens, int):
        if lens <= 0 or len(in_list) % lens != 0:
            raise ValueError(f'cannot split a list of length {len(in_list)} into pieces of {lens}')
        lens = [lens] * (len(in_list) // lens)
    if not is_list_of(lens, int):
        raise TypeError(f'"lens" must be an int or a list of int, got {lens!r}')
    if sum(lens) != len(in_list):
        raise ValueError(f'sum of lens ({sum(lens)}) and list length ({len(in_list)}) differ; '
                         'pass lengths that add up to the list length')
    out, idx = [], 0
    for length in lens:
        out.append(in_list[idx:idx + length])
        idx += length
    return out


def concat_list(in_list: Iterable[Iterable]) -> list:
    """Concatenate a list of lists into one list.

    Examples:
        >>> concat_list([[1, 2], [3]])
        [1, 2, 3]
    """
    return list(itertools.chain(*in_list))


def apply_to(data: Any, expr: Callable[[Any], bool], apply_func: Callable[[Any], Any]) -> Any:
    """Apply ``apply_func`` to every leaf of a nested dict/list/tuple for which ``expr`` holds.

    Containers keep their type (named tuples included); leaves that do not match are kept.

    Examples:
        >>> apply_to({'a': [1, 'x'], 'b': (2,)}, lambda x: isinstance(x, int), lambda x: x * 10)
        {'a': [10, 'x'], 'b': (20,)}
    """
    if isinstance(data, dict):
        return type(data)({k: apply_to(v, expr, apply_func) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, '_fields'):  # named tuple
        return type(data)(*(apply_to(v, expr, apply_func) for v in data))
    if isinstance(data, (tuple, list)):
        return type(data)(apply_to(v, expr, apply_func) for v in data)
    if expr(data):
        return apply_func(data)
    return data


def check_prerequisites(
        prerequisites: str | list[str],
        checker: Callable[[str], bool],
        msg_tmpl: str = 'Prerequisites "{}" are required in method "{}" but not found, '
        'please install them first.') -> Callable:
    """Build a decorator that raises when a prerequisite is missing before calling the function.

    Args:
        prerequisites: One prerequisite name or a list of them.
        checker: Returns True if a prerequisite is available.
        msg_tmpl: Error message template; formatted with the missing names and function name.

    Returns:
        A decorator. The wrapped function raises ``RuntimeError`` when something is missing.
    """

    def wrap(func: Callable) -> Callable:

        @functools.wraps(func)
        def wrapped_func(*args: Any, **kwargs: Any) -> Any:
            reqs = [prerequisites] if isinstance(prerequisites, str) else prerequisites
            missing = [item for item in reqs if not checker(item)]
            if missing:
                raise RuntimeError(msg_tmpl.format(', '.join(missing), func.__name__))
            return func(*args, **kwargs)

        return wrapped_func

    return wrap


def _check_py_package(package: str) -> bool:
    try:
        return find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _check_executable(cmd: str) -> bool:
    return shutil.which(cmd) is not None


def requires_package(prerequisites: str | list[str]) -> Callable:
    """Decorator: the function raises ``RuntimeError`` unless the Python packages are importable.

    Examples:
        >>> @requires_package('os')
        ... def f():
        ...     return 1
        >>> f()
        1
    """
    return check_prerequisites(prerequisites, checker=_check_py_package)


def requires_executable(prerequisites: str | list[str]) -> Callable:
    """Decorator: the function raises ``RuntimeError`` unless the executables are on ``PATH``."""
    return check_prerequisites(prerequisites, checker=_check_executable)


def deprecated_api_warning(name_dict: dict[str, str], cls_name: str | None = None) -> Callable:
    """Decorator that renames deprecated keyword arguments and warns about them.

    Args:
        name_dict: Maps each deprecated argument name to its new name.
        cls_name: Class name shown in the warning, for methods.

    Raises:
        TypeError (from the wrapped call): both the old and the new name are given.
    """

    def api_warning_wrapper(old_func: Callable) -> Callable:
        arg_names = inspect.getfullargspec(old_func).args
        func_name = old_func.__name__ if cls_name is None else f'{cls_name}.{old_func.__name__}'

        @functools.wraps(old_func)
        def new_func(*args: Any, **kwargs: Any) -> Any:
            positional = arg_names[:len(args)]
            for src, dst in name_dict.items():
                if src not in kwargs and src not in positional:
                    continue
                if src in positional:
                    warnings.warn(f'"{src}" is deprecated in `{func_name}`, please use "{dst}" '
                                  'instead', DeprecationWarning)
                    continue
                if dst in kwargs:
                    raise TypeError(f'The expected behavior is to replace the deprecated key '
                                    f'`{src}` to new key `{dst}`, but got them in the arguments '
                                    f'at the same time, which is confusing. `{src}` will be '
                                    f'deprecated in the future, please use `{dst}` instead.')
                warnings.warn(f'"{src}" is deprecated in `{func_name}`, please use "{dst}" '
                              'instead', DeprecationWarning)
                kwargs[dst] = kwargs.pop(src)
            return old_func(*args, **kwargs)

        return new_func

    return api_warning_wrapper


def is_method_overridden(method: str, base_class: type, derived_class: type | Any) -> bool:
    """Return whether ``derived_class`` (a class or an instance) overrides ``base_class.method``.

    Raises:
        TypeError: ``derived_class`` is a class that does not derive from ``base_class``.
    """
    if not isinstance(derived_class, type):
        derived_class = derived_class.__class__
    if not issubclass(derived_class, base_class):
        raise TypeError(f'{derived_class.__name__} is not a subclass of {base_class.__name__}; '
                        'pass a class derived from the base class')
    base_method = getattr(base_class, method)
    derived_method = getattr(derived_class, method)
    return derived_method != base_method


def has_method(obj: object, method: str) -> bool:
    """Return whether ``obj`` has a callable attribute named ``method``."""
    return hasattr(obj, method) and callable(getattr(obj, method))


def deprecated_function(since: str, removed_in: str, instructions: str) -> Callable:
    """Decorator marking a function deprecated: it warns on every call and notes it in the doc.

    Args:
        since: The version the function was deprecated in.
        removed_in: The version it will be removed in.
        instructions: What to use instead.
    """

    def decorator(function: Callable) -> Callable:

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            warnings.warn(
                f"'{function.__module__}.{function.__name__}' is deprecated in version {since} "
                f'and will be removed in version {removed_in}. Please {instructions}.',
                DeprecationWarning)
            return function(*args, **kwargs)

        note = (f'\n\n.. deprecated:: {since}\n   Deprecated and will be removed in version '
                f'{removed_in}. Please {instructions}.\n')
        wrapper.__doc__ = (function.__doc__ or '') + note
        return wrapper

    return decorator


def get_object_from_string(obj_name: str) -> Any:
    """Import and return the object a dotted path names, or ``None`` if it cannot be found.

    Args:
        obj_name: A dotted path such as ``'torch.nn.Linear'`` or ``'os.path.join'``.

    Returns:
        The object, or ``None`` when no prefix of the path is an importable module holding the
        remaining attributes.

    Examples:
        >>> get_object_from_string('os.path.join').__name__
        'join'
        >>> get_object_from_string('no_such_module_xyz.thing') is None
        True
    """
    parts = obj_name.split('.')
    for split in range(len(parts), 0, -1):
        module_name = '.'.join(parts[:split])
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


__all__ = [
    'is_str', 'import_modules_from_strings', 'iter_cast', 'list_cast', 'tuple_cast',
    'is_seq_of', 'is_list_of', 'is_tuple_of', 'slice_list', 'concat_list', 'apply_to',
    'check_prerequisites', 'requires_package', 'requires_executable', 'deprecated_api_warning',
    'is_method_overridden', 'has_method', 'deprecated_function', 'get_object_from_string',
    'to_1tuple', 'to_2tuple', 'to_3tuple', 'to_4tuple', 'to_ntuple',
]
