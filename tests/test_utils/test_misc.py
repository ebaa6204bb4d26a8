from __future__ import annotations

import warnings
from collections import namedtuple

import pytest

from mmengine.utils import (
    apply_to,
    check_prerequisites,
    concat_list,
    deprecated_api_warning,
    deprecated_function,
    has_method,
    import_modules_from_strings,
    is_list_of,
    is_method_overridden,
    is_seq_of,
    is_str,
    is_tuple_of,
    iter_cast,
    list_cast,
    requires_executable,
    requires_package,
    slice_list,
    to_1tuple,
    to_2tuple,
    to_3tuple,
    to_4tuple,
    to_ntuple,
    tuple_cast,
)


def test_type_checks():
    assert is_str('a') and not is_str(b'a')
    assert is_seq_of([1, 2], int) and is_seq_of((1, 2), int)
    assert not is_seq_of([1, 'a'], int)
    assert is_seq_of(['a'], str, seq_type=list) and not is_seq_of(('a', ), str, seq_type=list)
    assert not is_seq_of(3, int)
    assert is_list_of([1.0], float) and not is_list_of((1.0, ), float)
    assert is_tuple_of((1, ), int) and not is_tuple_of([1], int)
    assert is_seq_of([1, 'a'], (int, str))


def test_casts():
    assert list_cast(['1', '2'], int) == [1, 2]
    assert tuple_cast(['1', '2'], float) == (1.0, 2.0)
    lazy = iter_cast(['1'], int)
    assert not isinstance(lazy, list) and list(lazy) == [1]
    with pytest.raises(TypeError):
        iter_cast(1, int)
    with pytest.raises(TypeError):
        iter_cast([1], 'int')


def test_slice_and_concat():
    assert slice_list([1, 2, 3, 4], [1, 3]) == [[1], [2, 3, 4]]
    assert slice_list(list(range(6)), 2) == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError, match='sum of lens'):
        slice_list([1, 2, 3], [1, 1])
    with pytest.raises(TypeError):
        slice_list([1, 2], 'a')
    assert concat_list([[1, 2], (3, ), []]) == [1, 2, 3]


def test_ntuple():
    assert to_1tuple(3) == (3, )
    assert to_2tuple(3) == (3, 3)
    assert to_3tuple('ab') == ('ab', ) * 3  # strings are scalars
    assert to_4tuple([1, 2]) == (1, 2)  # iterables pass through
    assert to_ntuple(5)(0) == (0, ) * 5


def test_apply_to():
    Point = namedtuple('Point', ['x', 'y'])
    data = {'a': [1, 'b', (2, Point(3, 'z'))], 'c': 4.0}
    out = apply_to(data, lambda v: isinstance(v, int), lambda v: v + 100)
    assert out == {'a': [101, 'b', (102, Point(103, 'z'))], 'c': 4.0}
    assert isinstance(out['a'][2][1], Point)


def test_import_modules_from_strings():
    import os
    import os.path
    assert import_modules_from_strings('os') is os
    assert import_modules_from_strings(['os', 'os.path']) == [os, os.path]
    assert import_modules_from_strings(None) is None
    with pytest.raises(ImportError):
        import_modules_from_strings('no_such_module_qq')
    with pytest.warns(UserWarning, match='no_such_module_qq'):
        out = import_modules_from_strings(['os', 'no_such_module_qq'], allow_failed_imports=True)
    assert out == [os, None]
    with pytest.raises(TypeError):
        import_modules_from_strings(1)


def test_requires_package_and_executable():

    @requires_package('os')
    def ok():
        return 'ok'

    @requires_package(['os', 'no_such_module_qq'])
    def missing():
        return 'never'

    @requires_executable('no_such_exe_qq')
    def needs_exe():
        return 'never'

    assert ok() == 'ok'
    with pytest.raises(RuntimeError, match='no_such_module_qq.*missing'):
        missing()
    with pytest.raises(RuntimeError, match='no_such_exe_qq'):
        needs_exe()
    custom = check_prerequisites('x', checker=lambda _: False, msg_tmpl='{} for {}')

    def f():
        pass

    with pytest.raises(RuntimeError, match='^x for f$'):
        custom(f)()


def test_deprecated_api_warning():

    @deprecated_api_warning({'old': 'new'}, cls_name='Thing')
    def func(new=0):
        return new

    with pytest.warns(DeprecationWarning, match='"old" is deprecated in `Thing.func`'):
        assert func(old=3) == 3
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert func(new=4) == 4
    with pytest.raises(TypeError, match='same time'):
        func(old=1, new=2)


def test_deprecated_function():

    @deprecated_function('0.1', '0.3', 'use g instead')
    def f():
        """Doc."""
        return 7

    with pytest.warns(DeprecationWarning, match='deprecated in version 0.1.*0.3'):
        assert f() == 7
    assert 'deprecated' in f.__doc__ and f.__doc__.startswith('Doc.')


def test_method_helpers():

    class Base:

        def run(self):
            pass

        def keep(self):
            pass

    class Child(Base):

        def run(self):
            pass

    assert is_method_overridden('run', Base, Child)
    assert not is_method_overridden('keep', Base, Child)
    assert is_method_overridden('run', Base, Child())
    with pytest.raises(TypeError):
        is_method_overridden('run', Child, Base)
    assert has_method(Child(), 'run') and not has_method(Child(), 'fly')
    obj = Child()
    obj.attr = 1
    assert not has_method(obj, 'attr')


def test_deprecated_api_warning_positional():

    @deprecated_api_warning({'old': 'new'})
    def func(old=0):
        return old

    with pytest.warns(DeprecationWarning, match='"old" is deprecated in `func`'):
        assert func(5) == 5
