from __future__ import annotations

import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

from mmengine.registry import VISBACKENDS
from mmengine.visualization import (
    AimVisBackend,
    ClearMLVisBackend,
    DVCLiveVisBackend,
    LocalVisBackend,
    MLflowVisBackend,
    NeptuneVisBackend,
    TensorboardVisBackend,
    WandbVisBackend,
)


def _lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_local_backend_scalars_config_image(tmp_path):
    save_dir = str(tmp_path / 'vis_data')
    backend = LocalVisBackend(save_dir)
    assert not osp.exists(save_dir)  # nothing is created before first use
    backend.add_scalars({'loss': torch.tensor(0.5), 'lr': np.float32(0.25)}, step=3)
    backend.add_scalar('acc', 0.9, step=4)
    backend.add_scalars({'loss': 0.1}, step=5, file_path='run.json')
    assert _lines(osp.join(save_dir, 'scalars.json')) == [
        {'loss': 0.5, 'lr': 0.25, 'step': 3}, {'acc': 0.9, 'step': 4},
        {'loss': 0.1, 'step': 5}]
    assert _lines(osp.join(save_dir, 'run.json')) == [{'loss': 0.1, 'step': 5}]

    class FakeConfig:
        pretty_text = "model = dict(type='ToyModel')\n"

    backend.add_config(FakeConfig())
    with open(osp.join(save_dir, 'config.py')) as f:
        assert f.read() == "model = dict(type='ToyModel')\n"
    backend.add_image('img', np.full((4, 6, 3), 200, dtype=np.uint8), step=2)
    from PIL import Image
    image = np.asarray(Image.open(osp.join(save_dir, 'vis_image', 'img_2.png')))
    assert image.shape == (4, 6, 3) and (image == 200).all()
    assert backend.experiment is backend


def test_local_backend_errors(tmp_path):
    with pytest.raises(ValueError, match='save_dir'):
        LocalVisBackend(None)
    backend = LocalVisBackend(str(tmp_path))
    with pytest.raises(ValueError, match='json'):
        backend.add_scalars({'a': 1}, file_path='x.txt')
    with pytest.raises(ValueError, match='scalar file'):
        backend.add_scalars({'a': 1}, file_path='scalars.json')
    with pytest.raises(TypeError, match='scalar_dict'):
        backend.add_scalars([1])


def test_tensorboard_backend_writes_events(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    save_dir = str(tmp_path / 'tb')
    backend = TensorboardVisBackend(save_dir)
    backend.add_scalars({'loss': torch.tensor(1.5), 'lr': 0.01}, step=1)
    backend.add_scalar('loss', 0.5, step=2)
    with pytest.warns(UserWarning, match='only records numbers'):
        backend.add_scalar('text', 'abc')
    backend.add_image('img', np.zeros((4, 4, 3), dtype=np.uint8), step=1)
    backend.close()
    events = EventAccumulator(save_dir)
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars('loss')] == [(1, 1.5), (2, 0.5)]
    assert events.Scalars('lr')[0].value == pytest.approx(0.01)
    assert 'img' in events.Tags()['images']


@pytest.mark.parametrize('cls, package', [
    (WandbVisBackend, 'wandb'), (MLflowVisBackend, 'mlflow'), (ClearMLVisBackend, 'clearml'),
    (NeptuneVisBackend, 'neptune'), (DVCLiveVisBackend, 'dvclive'), (AimVisBackend, 'aim')])
def test_third_party_backends_name_missing_package(tmp_path, cls, package):
    import importlib.util
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f'{package} is installed')
    backend = VISBACKENDS.build(dict(type=cls.__name__, save_dir=str(tmp_path)))
    assert isinstance(backend, cls)
    with pytest.raises(ImportError, match=f'pip install {package}'):
        backend.add_scalar('loss', 1.0)
    backend.close()  # closing an unused backend is harmless
    assert os.listdir(tmp_path) == []


def test_local_backend_lines_are_in_the_files_at_once_and_after_close(tmp_path):
    backend = LocalVisBackend(str(tmp_path))
    for step in range(1, 6):
        backend.add_scalars({'loss': 1.0 / step, 'iter': step}, step=step, file_path='run.json')
        # every line is complete in both files before close()
        assert len(_lines(tmp_path / 'scalars.json')) == step
        assert len(_lines(tmp_path / 'run.json')) == step
    backend.close()
    backend.close()  # closing twice is harmless
    backend.add_scalars({'loss': 0.0}, step=6, file_path='run.json')  # reopens
    backend.add_scalar('acc', 1.0, step=6)
    backend.close()
    expected = [{'loss': 1.0 / s, 'iter': s, 'step': s} for s in range(1, 6)]
    assert _lines(tmp_path / 'scalars.json') == [*expected, {'loss': 0.0, 'step': 6},
                                                 {'acc': 1.0, 'step': 6}]
    assert _lines(tmp_path / 'run.json') == [*expected, {'loss': 0.0, 'step': 6}]


@pytest.mark.parametrize('record', [
    {'lr': 0.001, 'loss': 0.6931471805599453, 'time': 1e-07, 'epoch': 1, 'iter': 10},
    {'big': 1e300, 'neg': -0.0, 'int': 2 ** 70, 'f32': float(np.float32(0.1))},
    {'nan': float('nan'), 'inf': float('inf'), 'ninf': float('-inf')},
    {'flag': True, 'none': None, 'text': 'a "quoted"\nline', 'list': [1, 2.5]},
    {'quote"key': 1.0, 'ünïcode': 2.0, 3: 4.0},
    {},
])
def test_local_backend_writes_what_json_dumps_writes(tmp_path, record):
    backend = LocalVisBackend(str(tmp_path))
    backend.add_scalars(dict(record), step=7)
    backend.close()
    assert (tmp_path / 'scalars.json').read_text() == json.dumps({**record, 'step': 7}) + '\n'


def test_visualizer_close_closes_the_local_files(tmp_path):
    from mmengine.visualization import Visualizer
    vis = Visualizer(name='close-test', save_dir=str(tmp_path),
                     vis_backends=[dict(type='LocalVisBackend')])
    vis.add_scalars({'loss': 0.5}, step=1, file_path='run.json')
    backend = vis.get_backend('LocalVisBackend')
    assert len(backend._fds) == 2
    vis.close()
    assert backend._fds == {}
    assert _lines(tmp_path / 'vis_data' / 'scalars.json') == [{'loss': 0.5, 'step': 1}]


def test_a_copied_local_backend_opens_its_own_files(tmp_path):
    import copy
    backend = LocalVisBackend(str(tmp_path))
    backend.add_scalars({'a': 1.0}, step=1)
    clone = copy.deepcopy(backend)
    clone.add_scalars({'a': 2.0}, step=2)
    clone.close()  # must not close the original's file
    backend.add_scalars({'a': 3.0}, step=3)
    backend.close()
    assert [line['a'] for line in _lines(tmp_path / 'scalars.json')] == [1.0, 2.0, 3.0]
