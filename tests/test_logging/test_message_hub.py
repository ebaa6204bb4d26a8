from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.logging import message_hub as message_hub_module


def test_scalars():
    hub = MessageHub.get_instance('scalars')
    loss = torch.tensor(0.5)
    hub.update_scalar('train/loss', loss)
    hub.update_scalar('train/loss', 1.5, count=1)
    assert hub.get_scalar('train/loss')._log_history[0] == 0.5  # a CPU tensor, read at once
    assert hub.get_scalar('train/loss').mean() == pytest.approx(1.0)
    hub.update_scalars({'train/lr': 0.1, 'train/acc': dict(value=3.0, count=2)})
    assert hub.get_scalar('train/acc').mean() == pytest.approx(1.5)
    assert set(hub.log_scalars) == {'train/loss', 'train/lr', 'train/acc'}
    assert isinstance(hub.log_scalars['train/lr'], HistoryBuffer)
    with pytest.raises(KeyError, match='train/missing'):
        hub.get_scalar('train/missing')
    with pytest.raises(TypeError, match='one-element tensor'):
        hub.update_scalar('bad', 'x')
    with pytest.raises(ValueError, match='exactly one element'):
        hub.update_scalar('bad', torch.ones(2))
    with pytest.raises(KeyError, match='"value"'):
        hub.update_scalars({'bad': dict(count=1)})
    with pytest.raises(TypeError):
        hub.update_scalars([('a', 1.0)])


def test_runtime_info():
    hub = MessageHub('info')
    hub.update_info('iter', 3)
    hub.update_info_dict({'epoch': 1, 'cfg': 'a = 1'})
    assert hub.get_info('iter') == 3 and hub.get_info('nope', 'dflt') == 'dflt'
    assert dict(hub.runtime_info) == {'iter': 3, 'epoch': 1, 'cfg': 'a = 1'}
    assert hub.pop_info('epoch') == 1 and hub.pop_info('epoch', 'gone') == 'gone'
    with pytest.raises(ValueError, match='resumed=True'):
        hub.update_info('iter', 4, resumed=False)


def test_current_instance_created_on_demand():
    assert not MessageHub._instance_dict
    hub = MessageHub.get_current_instance()
    assert hub.instance_name == 'mmengine'
    other = MessageHub.get_instance('other')
    assert MessageHub.get_current_instance() is other


def test_state_dict_round_trip_through_torch_save(monkeypatch):
    monkeypatch.setattr(message_hub_module, 'RESUME_HISTORY_LENGTH', 20)
    hub = MessageHub.get_instance('src')
    for i in range(100):
        hub.update_scalar('train/loss', torch.tensor(float(i)))
    hub.update_scalar('train/time', 0.1, resumed=False)
    hub.update_info('iter', 100)
    hub.update_info('meta', {'classes': ('a', 'b'), 'mean': np.array([1.0, 2.0]),
                             'seed': np.int64(3)})
    hub.update_info('scratch', object(), resumed=False)
    state = hub.state_dict()
    assert state['log_scalars']['train/loss']['log_history'] == [float(i) for i in range(80, 100)]
    assert 'train/time' not in state['log_scalars'] and 'scratch' not in state['runtime_info']

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)

    new_hub = MessageHub.get_instance('dst')
    new_hub.load_state_dict(loaded)
    assert new_hub.get_scalar('train/loss').mean(10) == pytest.approx(94.5)
    assert new_hub.get_scalar('train/loss').current() == 99.0
    assert new_hub.get_info('iter') == 100
    assert new_hub.get_info('meta') == {'classes': ('a', 'b'), 'mean': [1.0, 2.0], 'seed': 3}
    new_hub.update_scalar('train/loss', 100.0)  # updating continues after a resume
    assert new_hub.get_scalar('train/loss').current() == 100.0


def test_non_plain_info_is_skipped_with_warning():
    hub = MessageHub('w')
    hub.update_info('obj', object())
    with pytest.warns(UserWarning, match="'obj'"):
        state = hub.state_dict()
    assert 'obj' not in state['runtime_info']
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the second save stays quiet
        assert 'obj' not in hub.state_dict()['runtime_info']


def test_load_state_dict_from_hub_and_bad_type():
    src = MessageHub('a')
    src.update_scalar('x', 2.0)
    src.update_info('keep', 1)
    src.update_info('skip', 2, resumed=False)
    dst = MessageHub('b')
    dst.load_state_dict(src)
    assert dst.get_scalar('x').current() == 2.0
    assert dst.get_info('keep') == 1 and dst.get_info('skip') is None
    assert dst.get_scalar('x') is not src.get_scalar('x')
    with pytest.raises(TypeError, match='load_state_dict'):
        dst.load_state_dict([1])


def test_constructor_arguments():
    buf = HistoryBuffer([1.0], [1])
    hub = MessageHub('c', log_scalars={'a': buf}, runtime_info={'k': 1},
                     resumed_keys={'k': False})
    assert hub.get_scalar('a') is buf
    assert hub.state_dict()['runtime_info'] == {}
    with pytest.raises(TypeError, match='HistoryBuffer'):
        MessageHub('d', log_scalars={'a': [1.0]})
