from __future__ import annotations

import json
import os.path as osp

import numpy as np
import pytest
import torch

from mmengine.registry import VISUALIZERS
from mmengine.visualization import LocalVisBackend, TensorboardVisBackend, Visualizer
from mmengine.visualization.utils import (
    check_type_and_length,
    color_str2rgb,
    color_val_matplotlib,
    convert_overlay_heatmap,
    tensor2ndarray,
    value2list,
)


def test_visualizer_without_backends_records_nothing():
    vis = Visualizer()
    vis.add_scalars({'loss': 1.0}, step=1)
    vis.add_config(object())
    vis.close()
    assert vis.get_backend('LocalVisBackend') is None


def test_visualizer_backends_under_vis_data(tmp_path):
    vis = VISUALIZERS.build(dict(type='Visualizer', name='v', save_dir=str(tmp_path),
                                 vis_backends=[dict(type='LocalVisBackend'),
                                               dict(type='TensorboardVisBackend', name='tb')]))
    assert isinstance(vis.get_backend('LocalVisBackend'), LocalVisBackend)
    assert isinstance(vis.get_backend('tb'), TensorboardVisBackend)
    vis.add_scalars({'loss': 2.0}, step=7)
    vis.add_scalar('acc', 1.0, step=8)
    vis.close()
    with open(osp.join(tmp_path, 'vis_data', 'scalars.json')) as f:
        assert [json.loads(line) for line in f] == [{'loss': 2.0, 'step': 7},
                                                   {'acc': 1.0, 'step': 8}]


def test_visualizer_backend_errors(tmp_path):
    with pytest.warns(UserWarning, match='save_dir'):
        vis = Visualizer(vis_backends=dict(type='LocalVisBackend'))
    assert vis.get_backend('LocalVisBackend') is None
    with pytest.raises(ValueError, match='named'):
        Visualizer(save_dir=str(tmp_path), vis_backends=[dict(type='LocalVisBackend')] * 2)
    with pytest.raises(TypeError, match='vis_backends'):
        Visualizer(save_dir=str(tmp_path), vis_backends=[3])


def test_get_instance_registers_subclasses():
    class DetVisualizer(Visualizer):
        pass

    det = DetVisualizer.get_instance('det')
    assert Visualizer.get_current_instance() is det
    assert Visualizer.get_instance('det') is det


def test_drawing_primitives_change_pixels():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    vis = Visualizer(image=image)
    assert (vis.get_image() == 0).all()
    vis.draw_bboxes(np.array([[5, 5, 20, 20]]), edge_colors='r', alpha=1)
    drawn = vis.get_image()
    assert drawn.shape == (40, 60, 3)
    assert drawn[5, 12, 0] > 200 and drawn[12, 12].sum() == 0  # edge red, inside empty
    mask = np.zeros((40, 60), dtype=bool)
    mask[30:, 40:] = True
    vis.draw_binary_masks(mask, colors=(0, 0, 255), alphas=1.0)
    assert tuple(vis.get_image()[35, 50]) == (0, 0, 255)
    vis.draw_points(np.array([[50, 10]]), colors='g', sizes=[50])
    vis.draw_lines(np.array([[0, 59]]), np.array([[39, 39]]), colors='w')
    vis.draw_circles(np.array([30, 20]), np.array([5]), edge_colors='b')
    vis.draw_polygons([np.array([[40, 5], [55, 5], [50, 15]])], face_colors=(255, 255, 0), alpha=1)
    vis.draw_texts('ok', np.array([2, 30]), colors='w', font_sizes=8)
    final = vis.get_image()
    assert not np.array_equal(final, drawn)
    assert final[8, 50, 0] > 200 and final[8, 50, 1] > 200  # yellow polygon


def test_drawing_argument_errors():
    vis = Visualizer()
    with pytest.raises(RuntimeError, match='set_image'):
        vis.draw_bboxes(np.array([[0, 0, 1, 1]]))
    vis.set_image(np.zeros((10, 10, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match='x1 <= x2'):
        vis.draw_bboxes(np.array([[5, 0, 1, 1]]))
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        vis.draw_bboxes(np.array([[0, 0, 1]]))
    with pytest.raises(ValueError, match='at least 2'):
        vis.draw_texts(['a', 'b'], np.array([[0, 0], [1, 1]]), colors=['r'])
    with pytest.warns(UserWarning, match='outside'):
        vis.draw_points(np.array([[50, 50]]))


def test_draw_featmap_modes():
    feat = torch.zeros(4, 8, 8)
    feat[2, :4] = 5.0
    squeezed = Visualizer.draw_featmap(feat)
    assert squeezed.shape == (8, 8, 3) and squeezed.dtype == np.uint8
    selected = Visualizer.draw_featmap(feat, channel_reduction='select_max')
    assert not np.array_equal(selected[0, 0], selected[7, 7])  # hot top, cold bottom
    grid = Visualizer.draw_featmap(feat, channel_reduction=None, topk=4, arrangement=(2, 2))
    assert grid.shape == (16, 16, 3)
    overlaid = Visualizer.draw_featmap(feat, np.zeros((16, 16, 3), dtype=np.uint8))
    assert overlaid.shape == (16, 16, 3)
    with pytest.raises(ValueError, match='channel_reduction'):
        Visualizer.draw_featmap(feat, channel_reduction='sum')
    with pytest.raises(TypeError, match='C, H, W'):
        Visualizer.draw_featmap(np.zeros((4, 8, 8)))


def test_add_image_and_datasample(tmp_path):
    vis = Visualizer(save_dir=str(tmp_path), vis_backends=dict(type='LocalVisBackend'))
    vis.add_datasample('sample', np.full((6, 8, 3), 9, dtype=np.uint8), step=3)
    from PIL import Image
    saved = np.asarray(Image.open(osp.join(tmp_path, 'vis_data', 'vis_image',
                                           'sample_3.png')))
    assert saved.shape == (6, 8, 3) and (saved == 9).all()
    vis.dataset_meta = {'classes': ('a', )}
    assert vis.dataset_meta == {'classes': ('a', )}


def test_utils():
    assert isinstance(tensor2ndarray(torch.ones(2)), np.ndarray)
    assert value2list('r', str, 3) == ['r', 'r', 'r']
    assert value2list(['r'], str, 3) == ['r']
    with pytest.raises(TypeError, match='colors'):
        check_type_and_length('colors', 3, (str, list), 1)
    assert color_val_matplotlib((255, 0, 0)) == (1.0, 0.0, 0.0)
    assert color_val_matplotlib(['g', (0, 255, 0)]) == ['g', (0.0, 1.0, 0.0)]
    with pytest.raises(ValueError, match='0-255'):
        color_val_matplotlib((300, 0, 0))
    assert color_str2rgb('red') == (255, 0, 0)
    heat = convert_overlay_heatmap(np.arange(16.0).reshape(4, 4))
    assert heat.shape == (4, 4, 3) and not np.array_equal(heat[0, 0], heat[3, 3])
    blended = convert_overlay_heatmap(np.ones((4, 4)), np.zeros((4, 4, 3), np.uint8), 0.0)
    assert (blended == 0).all()


def test_show_returns_on_non_interactive_backend(monkeypatch):
    import matplotlib
    matplotlib.use('Agg')
    vis = Visualizer(image=np.zeros((5, 5, 3), dtype=np.uint8))
    vis.show(wait_time=0)  # must not block
    with pytest.raises(ValueError, match='matplotlib'):
        vis.show(backend='cv2')
