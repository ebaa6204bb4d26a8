"""Checkpoint utilities: state-dict reports, loaders by scheme, safe loading, integrity."""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmengine.runner import checkpoint as ckpt
from mmengine.runner.checkpoint import (
    CheckpointLoader,
    CorruptCheckpointError,
    find_latest_checkpoint,
    get_state_dict,
    load_checkpoint,
    load_state_dict,
    save_checkpoint,
    weights_to_cpu,
)


class Net(nn.Module):
    def __init__(self, out: int = 3) -> None:
        super().__init__()
        self.fc = nn.Linear(2, out)
        self.bn = nn.BatchNorm1d(out)


class Wrapper(nn.Module):  # an arbitrary class: pickling it needs unsafe loading
    def __init__(self) -> None:
        super().__init__()
        self.value = 3


def test_load_state_dict_reports_missing_unexpected_and_shape(capsys):
    model = Net()
    state = OrderedDict(get_state_dict(Net(out=4)))
    state['extra.weight'] = torch.ones(1)
    del state['bn.bias']
    before = model.fc.weight.clone()
    load_state_dict(model, state, strict=False)
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert 'extra.weight' in text and 'bn.bias' in text
    assert 'fc.weight: checkpoint (4, 2), model (3, 2)' in text
    assert torch.equal(model.fc.weight, before)  # mismatched entries are not loaded
    with pytest.raises(RuntimeError, match='unexpected keys.*extra.weight'):
        load_state_dict(model, state, strict=True)


def test_load_state_dict_exact_match_and_wrapper():
    source, target = Net(), Net()
    assert list(get_state_dict(nn.DataParallel(source))) == list(source.state_dict())
    load_state_dict(nn.DataParallel(target), get_state_dict(source), strict=True)
    for key, value in source.state_dict().items():
        assert torch.equal(value, target.state_dict()[key])


def test_weights_to_cpu_keeps_metadata():
    state = Net().state_dict()
    cpu = weights_to_cpu(state)
    assert list(cpu) == list(state) and hasattr(cpu, '_metadata')


def test_load_checkpoint_revise_keys_and_whole_dict(tmp_path):
    source = Net()
    state = {f'module.{k}': v for k, v in source.state_dict().items()}
    save_checkpoint({'state_dict': state, 'meta': {'epoch': 3}}, str(tmp_path / 'a.pth'))
    target = Net()
    loaded = load_checkpoint(target, str(tmp_path / 'a.pth'), strict=True)
    assert loaded['meta'] == {'epoch': 3}
    assert torch.equal(target.fc.weight, source.fc.weight)


def test_safetensors_loading(tmp_path):
    from safetensors.torch import save_file
    source = Net()
    save_file(dict(source.state_dict()), str(tmp_path / 'w.safetensors'))
    target = Net()
    load_checkpoint(target, str(tmp_path / 'w.safetensors'), strict=True)
    assert torch.equal(target.fc.bias, source.fc.bias)


def test_pickled_custom_class_refused_then_opt_in(tmp_path, monkeypatch):
    path = str(tmp_path / 'unsafe.pth')
    torch.save({'state_dict': Net().state_dict(), 'extra': Wrapper()}, path)
    with pytest.raises(pickle.UnpicklingError, match='unsafe_load=True.*MMENGINE_UNSAFE_LOAD'):
        load_checkpoint(Net(), path)
    assert isinstance(load_checkpoint(Net(), path, unsafe_load=True)['extra'], Wrapper)
    # The opt-in is scoped to that call.
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(Net(), path)
    monkeypatch.setenv('MMENGINE_UNSAFE_LOAD', '1')
    assert isinstance(load_checkpoint(Net(), path)['extra'], Wrapper)


def test_numpy_values_load_safely(tmp_path):
    path = str(tmp_path / 'np.pth')
    save_checkpoint({'arr': np.arange(3), 'scalar': np.float32(1.5), 'dtype': np.dtype('int64')},
                    path)
    loaded = ckpt._load_checkpoint(path)
    assert loaded['arr'].tolist() == [0, 1, 2] and float(loaded['scalar']) == 1.5


def test_truncated_file_reports_corruption(tmp_path):
    path = tmp_path / 'bad.pth'
    save_checkpoint({'w': torch.ones(100)}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CorruptCheckpointError, match='bad.pth.*truncated, corrupt'):
        ckpt._load_checkpoint(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        ckpt._load_checkpoint(str(tmp_path / 'missing.pth'))


def test_http_scheme_uses_torch_hub_cache(tmp_path, monkeypatch):
    calls = {}

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls['url'] = url
        torch.save({'state_dict': Net().state_dict()}, dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    url = 'https://example.invalid/models/net.pth'
    loaded = CheckpointLoader.load_checkpoint(url, map_location='cpu')
    assert calls['url'] == url and 'state_dict' in loaded
    assert osp.isfile(tmp_path / 'hub' / 'checkpoints' / 'net.pth')
    calls.clear()
    CheckpointLoader.load_checkpoint(url)  # cached: no second download
    assert calls == {}


def test_torchvision_scheme(tmp_path):
    try:
        import torchvision  # noqa: F401
    except ImportError:
        assert ckpt.get_torchvision_models() == {}
        with pytest.raises(KeyError, match='torchvision://resnet18 is unknown'):
            CheckpointLoader.load_checkpoint('torchvision://resnet18')
        pytest.skip('torchvision is not installed')
    assert 'resnet18' in ckpt.get_torchvision_models()


def test_registered_prefix_and_force(tmp_path):
    seen = []

    def loader(filename, map_location):
        seen.append(filename)
        return {'from': 'custom'}

    CheckpointLoader.register_scheme('myfs://', loader)
    try:
        assert CheckpointLoader.load_checkpoint('myfs://a/b.pth') == {'from': 'custom'}
        with pytest.raises(KeyError, match='already has a checkpoint loader'):
            CheckpointLoader.register_scheme('myfs://', loader)

        @CheckpointLoader.register_scheme('myfs://', force=True)
        def replacement(filename, map_location):
            return {'from': 'replacement'}

        assert CheckpointLoader.load_checkpoint('myfs://x') == {'from': 'replacement'}
        assert seen == ['myfs://a/b.pth']
    finally:
        CheckpointLoader._schemes.pop('myfs://', None)
    local = tmp_path / 'plain.pth'
    torch.save({'k': torch.zeros(1)}, local)
    assert CheckpointLoader._get_checkpoint_loader(str(local)) is ckpt.load_from_local


def test_open_mmlab_index(tmp_path, monkeypatch):
    target = tmp_path / 'weights.pth'
    torch.save({'state_dict': {}}, target)
    (tmp_path / 'open_mmlab.json').write_text(json.dumps({'net': str(target)}))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path))
    assert CheckpointLoader.load_checkpoint('open-mmlab://net') == {'state_dict': {}}
    with pytest.raises(KeyError, match='unknown'):
        CheckpointLoader.load_checkpoint('open-mmlab://nope')


def test_find_latest_checkpoint(tmp_path):
    assert find_latest_checkpoint(str(tmp_path / 'absent')) is None
    assert find_latest_checkpoint(str(tmp_path)) is None
    for name in ['epoch_2.pth', 'epoch_10.pth', 'best_acc_epoch_11.pth', '.epoch_12.pth.x.tmp',
                 'epoch_10-0123abcd.pth']:
        (tmp_path / name).write_bytes(b'x')
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')
    # A plain-path pointer (what older runs wrote) wins, also after the folder moved.
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/run/epoch_2.pth\n')
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')


def test_save_is_atomic_and_hashed_while_streaming(tmp_path, monkeypatch):
    path = str(tmp_path / 'sub' / 'a.pth')
    save_checkpoint({'w': torch.randn(1000)}, path)
    assert os.listdir(tmp_path / 'sub') == ['a.pth']
    with open(path, 'rb') as file:
        expected = hashlib.sha256(file.read()).hexdigest()

    def no_reading(_):
        raise AssertionError('the digest must come from the streamed write')

    monkeypatch.setattr(ckpt, '_sha256_of', no_reading)
    assert ckpt.checkpoint_integrity(path) == dict(size=osp.getsize(path), sha256=expected)
    monkeypatch.undo()
    os.utime(path, ns=(1, 1))  # changed on disk since: hashed by reading
    assert ckpt.checkpoint_integrity(path)['sha256'] == expected


def test_failed_save_leaves_old_file_and_no_temporary(tmp_path):
    path = str(tmp_path / 'a.pth')
    save_checkpoint({'v': torch.tensor(1)}, path)

    class Boom:
        def __reduce__(self):
            raise KeyboardInterrupt  # like a signal arriving mid-write

    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({'v': torch.zeros(10_000), 'boom': Boom()}, path)
    assert os.listdir(tmp_path) == ['a.pth']
    assert ckpt._load_checkpoint(path)['v'].item() == 1


def test_manifest_records_and_candidates(tmp_path):
    work = str(tmp_path)
    for step in (1, 2, 3):
        path = osp.join(work, f'epoch_{step}.pth')
        save_checkpoint({'step': step}, path)
        ckpt.record_checkpoint(work, path, epoch=step, iter=step * 4)
    save_checkpoint({'best': 1}, osp.join(work, 'best_acc_epoch_2.pth'))
    ckpt.record_checkpoint(work, osp.join(work, 'best_acc_epoch_2.pth'), 'best',
                           update_pointer=False, epoch=2, iter=8)
    assert (tmp_path / 'last_checkpoint').read_text() == osp.join(work, 'epoch_3.pth')
    records = ckpt.read_manifest(work)
    assert [r['kind'] for r in records] == ['regular'] * 3 + ['best']
    assert records[0]['size'] == osp.getsize(osp.join(work, 'epoch_1.pth'))
    candidates = [osp.basename(p) for p, _ in ckpt.checkpoint_candidates(work)]
    assert candidates == ['epoch_3.pth', 'epoch_2.pth', 'epoch_1.pth']
    ckpt.forget_checkpoint(work, osp.join(work, 'epoch_1.pth'))
    assert len(ckpt.read_manifest(work)) == 3
    # verify: intact, truncated, same size but different bytes
    path, record = ckpt.checkpoint_candidates(work)[0]
    assert ckpt.verify_checkpoint(path, record) is None
    data = open(path, 'rb').read()
    with open(path, 'wb') as file:
        file.write(data[:-1] + bytes([data[-1] ^ 1]))
    assert 'SHA-256' in ckpt.verify_checkpoint(path, record)
    with open(path, 'wb') as file:
        file.write(data[:10])
    assert 'truncated' in ckpt.verify_checkpoint(path, record)
    (tmp_path / ckpt.MANIFEST).write_text('{not json')
    assert ckpt.read_manifest(work) == []


def test_signal_handler_exit_mid_write_removes_temporary(tmp_path, monkeypatch):
    """A handler raising SystemExit inside torch.save's write callback: torch swallows it
    into a RuntimeError; the save still removes its temporary file and re-raises the exit."""
    path = str(tmp_path / 'a.pth')
    save_checkpoint({'v': torch.tensor(1)}, path)
    original = ckpt._HashingWriter.write

    def write(self, data):
        if self.size > 1000:
            raise SystemExit(143)
        return original(self, data)

    monkeypatch.setattr(ckpt._HashingWriter, 'write', write)
    with pytest.raises(SystemExit) as info:
        save_checkpoint({'v': torch.zeros(100_000)}, path)
    assert info.value.code == 143
    assert os.listdir(tmp_path) == ['a.pth']
    assert ckpt._load_checkpoint(path)['v'].item() == 1
