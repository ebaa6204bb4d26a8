"""BatchRandomFlip / BatchRandomCrop and ImgDataPreprocessor(batch_augments=...)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.model import BatchRandomCrop, BatchRandomFlip, ImgDataPreprocessor
from mmengine.registry import MODELS

FORMATS = [torch.contiguous_format, torch.channels_last]
DTYPES = [torch.uint8, torch.float32]


def _batch(n=64, c=3, h=6, w=7, dtype=torch.uint8, fmt=torch.contiguous_format, seed=123):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, c, h, w), generator=g).to(dtype)
    return x.contiguous(memory_format=fmt)


def _is_channels_last(x):
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


# ---------------------------------------------------------------------------- flip
@pytest.mark.parametrize('prob', [0.5, 0.2])
def test_flip_rate_matches_prob(prob):
    # Width-2 images [0, 1]: a flipped sample starts with 1.
    x = torch.arange(2, dtype=torch.uint8).repeat(20000, 1, 1, 1)
    torch.manual_seed(0)
    out = BatchRandomFlip(prob=prob)(x)
    rate = out[:, 0, 0, 0].float().mean().item()
    assert abs(rate - prob) < 0.02  # ~6 standard deviations at n=20000


@pytest.mark.parametrize('direction,dim', [('horizontal', -1), ('vertical', -2)])
@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('dtype', DTYPES)
def test_flip_flips_whole_samples_exactly(direction, dim, fmt, dtype):
    x = _batch(dtype=dtype, fmt=fmt)
    torch.manual_seed(1)
    out = BatchRandomFlip(direction=direction)(x)
    assert out.dtype == dtype and out.shape == x.shape
    assert _is_channels_last(out) == (fmt == torch.channels_last)
    flipped = []
    for i in range(len(x)):
        is_flipped = torch.equal(out[i], x[i].flip(dim))
        assert is_flipped or torch.equal(out[i], x[i]), f'sample {i} is neither'
        flipped.append(is_flipped)
    assert 10 < sum(flipped) < len(x) - 10
    assert torch.equal(x, _batch(dtype=dtype, fmt=fmt))  # the input is not modified


def test_flip_prob_extremes():
    x = _batch()
    assert BatchRandomFlip(prob=0)(x) is x
    assert torch.equal(BatchRandomFlip(prob=1)(x), x.flip(-1))
    assert torch.equal(BatchRandomFlip(prob=1, direction='vertical')(x), x.flip(-2))


# ---------------------------------------------------------------------------- crop
def _window_offsets(out, padded):
    """The (top, left) of the window of ``padded`` each output sample equals (search)."""
    out_h, out_w = out.shape[-2:]
    offsets = []
    for i in range(len(out)):
        found = [(top, left)
                 for top in range(padded.shape[-2] - out_h + 1)
                 for left in range(padded.shape[-1] - out_w + 1)
                 if torch.equal(out[i], padded[i, :, top:top + out_h, left:left + out_w])]
        assert found, f'sample {i} is not a window of its padded image'
        offsets.append(found[0])
    return offsets


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('dtype', DTYPES)
def test_crop_is_a_random_window_of_the_padded_image(fmt, dtype):
    x = _batch(n=400, dtype=dtype, fmt=fmt)
    torch.manual_seed(2)
    out = BatchRandomCrop((6, 7), padding=2, pad_value=9)(x)
    assert out.shape == x.shape and out.dtype == dtype
    assert _is_channels_last(out) == (fmt == torch.channels_last)
    offsets = _window_offsets(out, F.pad(x, (2, 2, 2, 2), value=9))
    # 25 possible positions, 400 samples: all of them turn up, none dominates.
    assert len(set(offsets)) == 25
    assert max(offsets.count(o) for o in set(offsets)) < 40


def test_crop_smaller_size_asymmetric_padding_and_no_padding():
    x = _batch(n=100, h=6, w=7)
    torch.manual_seed(3)
    out = BatchRandomCrop((3, 5), padding=(1, 0, 2, 3))(x)  # left, top, right, bottom
    assert out.shape == (100, 3, 3, 5)
    offsets = _window_offsets(out, F.pad(x, (1, 2, 0, 3)))
    assert {top for top, _ in offsets} == set(range(7))
    assert {left for _, left in offsets} == set(range(6))
    out = BatchRandomCrop(4)(x)  # no padding: windows of the image itself
    assert len(set(_window_offsets(out, x))) > 1


def test_crop_padding_pair_means_left_right_then_top_bottom():
    x = _batch(n=50, h=4, w=4)
    torch.manual_seed(4)
    out = BatchRandomCrop(4, padding=(0, 1), pad_value=1)(x)
    offsets = _window_offsets(out, F.pad(x, (0, 0, 1, 1), value=1))
    assert {left for _, left in offsets} == {0}
    assert {top for top, _ in offsets} == {0, 1, 2}


def test_crop_noop_when_nothing_to_choose():
    x = _batch()
    assert BatchRandomCrop((6, 7))(x) is x
    state = torch.random.get_rng_state()
    BatchRandomCrop((6, 7), padding=0)(x)
    assert torch.equal(state, torch.random.get_rng_state())


# ---------------------------------------------------------------------------- shared
@pytest.mark.parametrize('make', [lambda: BatchRandomFlip(),
                                  lambda: BatchRandomCrop(7, padding=3)])
def test_reproducible_with_manual_seed_and_same_in_both_layouts(make):
    x = _batch(dtype=torch.float32)
    torch.manual_seed(7)
    first = make()(x)
    torch.manual_seed(7)
    assert torch.equal(make()(x), first)
    torch.manual_seed(7)
    assert torch.equal(make()(x.contiguous(memory_format=torch.channels_last)), first)
    torch.manual_seed(8)
    assert not torch.equal(make()(x), first)


@pytest.mark.parametrize('fmt', FORMATS)
def test_no_data_dependent_host_code(fmt):
    # Meta tensors have no values: .item(), Python branches on values or randomness drawn on
    # another device would fail here, as they would force a sync (or a copy) on a GPU.
    x = torch.empty(4, 3, 8, 8, dtype=torch.uint8, device='meta').contiguous(memory_format=fmt)
    for module in (BatchRandomFlip(), BatchRandomFlip(direction='vertical'),
                   BatchRandomCrop(6, padding=2)):
        out = module(x)
        assert out.device.type == 'meta' and out.is_contiguous(memory_format=fmt)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_without_synchronization():
    pre = ImgDataPreprocessor(mean=[0.0] * 3, std=[1.0] * 3, non_blocking=True,
                              batch_augments=[BatchRandomCrop(32, 4), BatchRandomFlip()])
    pre.cuda()
    batch = dict(inputs=torch.zeros(16, 3, 32, 32, dtype=torch.uint8).pin_memory())
    pre(batch, training=True)  # warm-up: lazy CUDA initialization may synchronize
    torch.cuda.set_sync_debug_mode('error')
    try:
        out = pre(batch, training=True)['inputs']
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert out.is_cuda and out.shape == (16, 3, 32, 32)


# ---------------------------------------------------------------------------- preprocessor
def test_preprocessor_builds_configs_and_augments_only_in_training():
    pre = ImgDataPreprocessor(
        mean=[100.0] * 3, std=[2.0] * 3,
        batch_augments=[dict(type='BatchRandomCrop', size=4, padding=4, pad_value=10),
                        BatchRandomFlip(prob=1.0)])
    assert isinstance(pre.batch_augments, nn.ModuleList)
    assert [type(m) for m in pre.batch_augments] == [BatchRandomCrop, BatchRandomFlip]
    x = _batch(n=32, h=4, w=4)
    expected = (x.float() - 100) / 2
    assert torch.equal(pre(dict(inputs=x))['inputs'], expected)
    assert torch.equal(pre(dict(inputs=list(x)), training=False)['inputs'], expected)
    out = pre(dict(inputs=x), training=True)['inputs']
    assert out.dtype == torch.float32 and out.shape == x.shape
    # The crop pads before normalization: pad_value 10 is a raw pixel value.
    pad = (10 - 100) / 2
    assert (out == pad).any()
    raw = F.pad(x, (4, 4, 4, 4), value=10).float()
    _window_offsets((out * 2 + 100).flip(-1), raw)


def test_preprocessor_without_augments_is_unchanged():
    x = _batch(n=4)
    plain = ImgDataPreprocessor(mean=[1.0] * 3, std=[3.0] * 3)
    assert plain.batch_augments is None
    assert torch.equal(plain(dict(inputs=x), training=True)['inputs'], (x.float() - 1) / 3)
    empty = ImgDataPreprocessor(batch_augments=[])
    assert torch.equal(empty(dict(inputs=x), training=True)['inputs'], x.float())


def test_preprocessor_augments_after_stacking_and_before_size_divisor_padding():
    pre = ImgDataPreprocessor(pad_size_divisor=8, pad_value=-1,
                              batch_augments=[BatchRandomCrop((5, 6), padding=1)])
    out = pre(dict(inputs=list(_batch(n=3, h=6, w=7))), training=True)['inputs']
    assert out.shape == (3, 3, 8, 8)
    assert (out[:, :, 5:] == -1).all() and (out[:, :, :, 6:] == -1).all()
    with pytest.raises(ValueError, match='equally sized'):
        pre(dict(inputs=[torch.zeros(3, 4, 4), torch.zeros(3, 5, 5)]), training=True)
    assert pre(dict(inputs=[torch.zeros(3, 4, 4), torch.zeros(3, 5, 5)]))['inputs'].shape == \
        (2, 3, 8, 8)


def test_registered_in_models():
    assert isinstance(MODELS.build(dict(type='BatchRandomFlip', prob=0.1)), BatchRandomFlip)
    crop = MODELS.build(dict(type='BatchRandomCrop', size=[3, 4], padding=2))
    assert crop.size == (3, 4) and crop.padding == (2, 2, 2, 2)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize('kwargs,error,match', [
    (dict(prob=1.5), ValueError, r'prob must be in \[0, 1\], but got 1.5'),
    (dict(prob=-0.1), ValueError, 'prob'),
    (dict(prob='0.5'), TypeError, 'str'),
    (dict(prob=True), TypeError, 'bool'),
    (dict(direction='diagonal'), ValueError, "'diagonal'"),
])
def test_flip_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchRandomFlip(**kwargs)


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(size=0), ValueError, 'size must be >= 1, but got 0'),
    (dict(size=(4, -1)), ValueError, 'size'),
    (dict(size='32'), TypeError, 'size must be an int or a sequence of two ints'),
    (dict(size=(1, 2, 3)), TypeError, 'size'),
    (dict(size=4.0), TypeError, 'size'),
    (dict(size=4, padding=-1), ValueError, 'padding must be >= 0, but got -1'),
    (dict(size=4, padding=(1, 2, 3)), TypeError, 'padding'),
    (dict(size=4, padding=1.5), TypeError, 'padding'),
    (dict(size=4, pad_value='black'), TypeError, 'pad_value'),
])
def test_crop_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchRandomCrop(**kwargs)


@pytest.mark.parametrize('module', [BatchRandomFlip(), BatchRandomCrop(4, padding=1)])
def test_forward_input_errors(module):
    with pytest.raises(TypeError, match='N x C x H x W tensor, but got list'):
        module([torch.zeros(3, 4, 4)])
    with pytest.raises(ValueError, match=r'shape \(3, 4, 4\)'):
        module(torch.zeros(3, 4, 4))


def test_crop_larger_than_padded_image():
    with pytest.raises(ValueError, match=r'larger than the padded images \(6, 6\)'):
        BatchRandomCrop(8, padding=1)(torch.zeros(2, 3, 4, 4))


def test_preprocessor_batch_augments_errors():
    with pytest.raises(TypeError, match='wrap a single augmentation in a list'):
        ImgDataPreprocessor(batch_augments=dict(type='BatchRandomFlip'))
    with pytest.raises(TypeError, match='config dict or an nn.Module, but got int'):
        ImgDataPreprocessor(batch_augments=[42])
    with pytest.raises(KeyError):
        ImgDataPreprocessor(batch_augments=[dict(type='NoSuchAugment')])
