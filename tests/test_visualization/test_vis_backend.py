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
