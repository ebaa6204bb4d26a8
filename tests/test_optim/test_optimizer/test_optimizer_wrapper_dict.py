"""OptimWrapperDict: dict access, collected settings and state, no direct updates."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.optim import SGD, Adam

from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict


def _wrappers():
    gen, disc = nn.Linear(1, 1), nn.Linear(1, 1)
    return (gen, disc,
            OptimWrapper(SGD(gen.parameters(), lr=0.01, momentum=0.9)),
            AmpOptimWrapper(optimizer=Adam(disc.parameters(), lr=0.02, betas=(0.5, 0.999))))


def test_dict_access_and_iteration():
    _, _, gen_w, disc_w = _wrappers()
    optim_dict = OptimWrapperDict(gen=gen_w, disc=disc_w)
    assert optim_dict['gen'] is gen_w and 'disc' in optim_dict and 'x' not in optim_dict
    assert len(optim_dict) == 2
    assert list(optim_dict) == list(optim_dict.keys()) == ['gen', 'disc']
    assert list(optim_dict.values()) == [gen_w, disc_w]
    assert dict(optim_dict.items()) == {'gen': gen_w, 'disc': disc_w}
    with pytest.raises(KeyError, match="'gen', 'disc'"):
        optim_dict['generator']
    assert optim_dict.param_groups == {'gen': gen_w.param_groups, 'disc': disc_w.param_groups}
    assert 'name: gen' in repr(optim_dict)


def test_collects_lr_and_momentum_with_prefixed_keys():
    _, _, gen_w, disc_w = _wrappers()
    optim_dict = OptimWrapperDict(gen=gen_w, disc=disc_w)
    assert optim_dict.get_lr() == {'gen.lr': [0.01], 'disc.lr': [0.02]}
    assert optim_dict.get_momentum() == {'gen.momentum': [0.9], 'disc.momentum': [0.5]}


def test_state_dict_round_trip_for_all_wrappers():
    gen, disc, gen_w, disc_w = _wrappers()
    optim_dict = OptimWrapperDict(gen=gen_w, disc=disc_w)
    gen_w.update_params(gen(torch.ones(1, 1)).sum())
    state = optim_dict.state_dict()
    assert set(state) == {'gen', 'disc'} and 'loss_scaler' in state['disc']
    _, _, new_gen, new_disc = _wrappers()
    new_gen.param_groups[0]['lr'] = 1.0
    fresh = OptimWrapperDict(gen=new_gen, disc=new_disc)
    fresh.load_state_dict(state)
    assert fresh.get_lr()['gen.lr'] == [0.01]
    assert 0 in fresh['gen'].optimizer.state_dict()['state']  # momentum buffer restored
    with pytest.raises(KeyError, match='does not have'):
        fresh.load_state_dict({'critic': {}})


@pytest.mark.parametrize('method', ['update_params', 'backward'])
def test_update_methods_raise_and_name_the_wrappers(method):
    _, _, gen_w, disc_w = _wrappers()
    optim_dict = OptimWrapperDict(gen=gen_w, disc=disc_w)
    with pytest.raises(NotImplementedError, match=rf"optim_wrapper\['gen'\]\.{method}"):
        getattr(optim_dict, method)(torch.tensor(1.0))


def test_step_zero_grad_and_context_raise():
    gen, _, gen_w, disc_w = _wrappers()
    optim_dict = OptimWrapperDict(gen=gen_w, disc=disc_w)
    with pytest.raises(NotImplementedError, match='step'):
        optim_dict.step()
    with pytest.raises(NotImplementedError, match='zero_grad'):
        optim_dict.zero_grad()
    with pytest.raises(NotImplementedError, match='optim_context'):
        with optim_dict.optim_context(gen):
            pass


def test_initialize_count_status_reaches_every_wrapper():
    gen, _, gen_w, disc_w = _wrappers()
    OptimWrapperDict(gen=gen_w, disc=disc_w).initialize_count_status(gen, 4, 10)
    assert gen_w.inner_count == disc_w.inner_count == 4
    assert gen_w._max_counts == disc_w._max_counts == 10


def test_values_must_be_optim_wrappers():
    with pytest.raises(TypeError, match="'gen' is a SGD"):
        OptimWrapperDict(gen=SGD(nn.Linear(1, 1).parameters(), lr=0.1))
