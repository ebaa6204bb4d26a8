from __future__ import annotations

import threading

import pytest

from mmengine.utils import ManagerMixin


class Store(ManagerMixin):

    def __init__(self, name: str = '', value: int = 0):
        super().__init__(name)
        self.value = value


def test_named_instances_and_current():
    with pytest.raises(RuntimeError, match='get_instance'):
        Store.get_current_instance()
    first = Store.get_instance('a', value=1)
    second = Store.get_instance('b', value=2)
    assert Store.get_current_instance() is second
    assert Store.get_instance('a') is first  # fetching makes it current again
    assert Store.get_current_instance() is first and first.instance_name == 'a'
    assert Store.check_instance_created('b') and not Store.check_instance_created('c')
    with pytest.warns(UserWarning, match='ignored'):
        assert Store.get_instance('a', value=9).value == 1
    with pytest.raises(TypeError, match='string'):
        Store.get_instance(1)


def test_instances_are_reset_between_tests():
    # conftest clears every ManagerMixin table around each test
    assert not Store.check_instance_created('a')


def test_get_instance_is_thread_safe():
    results = []

    def worker():
        results.append(Store.get_instance('shared'))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(r) for r in results}) == 1
