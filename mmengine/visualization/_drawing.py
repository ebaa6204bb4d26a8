"""Drawing primitives behind :class:`Visualizer`, written against its matplotlib axes.

Each function normalises its arguments (one value or one per item), checks them, and adds
matplotlib artists to ``vis.ax_save``. matplotlib is imported inside the functions.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .utils import (
    check_type,
    check_type_and_length,
    color_str2rgb,
    color_val_matplotlib,
    convert_overlay_heatmap,
    img_from_canvas,
    tensor2ndarray,
    value2list,
)

_COLOR_TYPES = (str, tuple, list)


def fit_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop or edge-pad a rendered image to exactly ``(height, width)``."""
    image = image[:height, :width]
    pad_h, pad_w = height - image.shape[0], width - image.shape[1]
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode='edge')
    return image


def _as_2d(name: str, value: Any, columns: int) -> np.ndarray:
    array = np.asarray(tensor2ndarray(value), dtype=np.float64)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != columns:
        raise ValueError(f'`{name}` must have shape (N, {columns}), got {array.shape}.')
    return array


def _per_item(name: str, value: Any, valid_type: Any, count: int) -> list:
    """One value per drawn item, colours converted for matplotlib."""
    values = value2list(value, valid_type, count)
    check_type_and_length(name, values, list, count)
    if 'color' in name:
        values = color_val_matplotlib(values)
    return values


def _warn_outside(vis: Any, xs: np.ndarray, ys: np.ndarray, what: str) -> None:
    if (xs < 0).any() or (ys < 0).any() or (xs > vis.width).any() or (ys > vis.height).any():
        warnings.warn(f'Some {what} lie outside the image ({vis.width}x{vis.height}); they '
                      'are drawn clipped.')


def points(vis: Any, positions: Any, colors: Any, marker: str | None, sizes: Any) -> None:
    """Scatter points."""
    pos = _as_2d('positions', positions, 2)
    _warn_outside(vis, pos[:, 0], pos[:, 1], 'points')
    colors = color_val_matplotlib(colors)
    vis.ax_save.scatter(pos[:, 0], pos[:, 1], c=colors, s=sizes, marker=marker)


def texts(vis: Any, items: Any, positions: Any, font_sizes: Any, colors: Any, valigns: Any,
          haligns: Any, families: Any, bboxes: Any, props: Any) -> None:
    """Write texts."""
    check_type('texts', items, (str, list))
    items = [items] if isinstance(items, str) else items
    count = len(items)
    pos = _as_2d('positions', positions, 2)
    if len(pos) != count:
        raise ValueError(f'{count} texts need {count} positions, got {len(pos)}.')
    _warn_outside(vis, pos[:, 0], pos[:, 1], 'texts')
    sizes = _per_item('font_sizes', font_sizes if font_sizes is not None
                      else vis._default_font_size, (int, float), count)
    colors = _per_item('colors', colors, _COLOR_TYPES[:2], count)
    valigns = _per_item('vertical_alignments', valigns, str, count)
    haligns = _per_item('horizontal_alignments', haligns, str, count)
    families = _per_item('font_families', families, str, count)
    boxes = [None] * count if bboxes is None else value2list(bboxes, dict, count)
    props = [None] * count if props is None else value2list(props, object, count)
    for i, text in enumerate(items):
        vis.ax_save.text(pos[i, 0], pos[i, 1], text, size=sizes[i], bbox=boxes[i],
                         verticalalignment=valigns[i], horizontalalignment=haligns[i],
                         family=families[i], fontproperties=props[i], color=colors[i])


def lines(vis: Any, x_datas: Any, y_datas: Any, colors: Any, styles: Any, widths: Any) -> None:
    """Draw line segments."""
    from matplotlib.collections import LineCollection
    xs, ys = _as_2d('x_datas', x_datas, 2), _as_2d('y_datas', y_datas, 2)
    if xs.shape != ys.shape:
        raise ValueError(f'`x_datas` {xs.shape} and `y_datas` {ys.shape} must match.')
    _warn_outside(vis, xs, ys, 'line ends')
    segments = np.stack([xs, ys], axis=-1)  # (N, 2 points, xy)
    count = len(segments)
    colors = _per_item('colors', colors, _COLOR_TYPES[:2], count)
    styles = _per_item('line_styles', styles, str, count)
    widths = _per_item('line_widths', widths, (int, float), count)
    vis.ax_save.add_collection(LineCollection(segments, colors=colors, linestyles=styles,
                                              linewidths=widths))


def _add_patches(vis: Any, patches: list, edge_colors: Any, styles: Any, widths: Any,
                 face_colors: Any, alpha: float) -> None:
    from matplotlib.collections import PatchCollection
    count = len(patches)
    edges = _per_item('edge_colors', edge_colors, _COLOR_TYPES[:2], count)
    faces = _per_item('face_colors', face_colors, _COLOR_TYPES[:2], count)
    styles = _per_item('line_styles', styles, str, count)
    widths = _per_item('line_widths', widths, (int, float), count)
    collection = PatchCollection(patches, alpha=alpha, facecolors=faces, edgecolors=edges,
                                 linestyles=styles, linewidths=widths)
    vis.ax_save.add_collection(collection)


def circles(vis: Any, center: Any, radius: Any, edge_colors: Any, styles: Any, widths: Any,
            face_colors: Any, alpha: float) -> None:
    """Draw circles."""
    from matplotlib.patches import Circle
    centers = _as_2d('center', center, 2)
    radii = np.atleast_1d(np.asarray(tensor2ndarray(radius), dtype=np.float64))
    if len(radii) != len(centers):
        raise ValueError(f'{len(centers)} centers need {len(centers)} radii, got {len(radii)}.')
    _warn_outside(vis, centers[:, 0], centers[:, 1], 'circle centers')
    patches = [Circle((x, y), r) for (x, y), r in zip(centers, radii)]
    _add_patches(vis, patches, edge_colors, styles, widths, face_colors, alpha)


def bboxes_to_polygons(bboxes: Any) -> list[np.ndarray]:
    """Turn ``(N, 4)`` x1, y1, x2, y2 boxes into four-corner polygons."""
    boxes = _as_2d('bboxes', bboxes, 4)
    if ((boxes[:, 0] > boxes[:, 2]) | (boxes[:, 1] > boxes[:, 3])).any():
        raise ValueError('Each box must be (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2.')
    return [np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]) for x1, y1, x2, y2 in boxes]


def polygons(vis: Any, polys: Any, edge_colors: Any, styles: Any, widths: Any,
             face_colors: Any, alpha: float) -> None:
    """Draw closed polygons."""
    from matplotlib.patches import Polygon
    if isinstance(polys, (np.ndarray, torch.Tensor)):
        polys = [polys]
    shapes = [_as_2d('polygons', poly, 2) for poly in polys]
    for shape in shapes:
        _warn_outside(vis, shape[:, 0], shape[:, 1], 'polygon vertices')
    patches = [Polygon(shape, closed=True) for shape in shapes]
    _add_patches(vis, patches, edge_colors, styles, widths, face_colors, alpha)


def binary_masks(vis: Any, masks: Any, colors: Any, alphas: Any) -> None:
    """Blend masks into the image and redraw it."""
    masks = np.asarray(tensor2ndarray(masks)).astype(bool)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.shape[1:] != (vis.height, vis.width):
        raise ValueError(f'Masks must match the image size {(vis.height, vis.width)}, got '
                         f'{masks.shape[1:]}.')
    count = len(masks)
    colors = value2list(colors, (str, tuple), count)
    alphas = value2list(alphas, (int, float), count)
    check_type_and_length('colors', colors, list, count)
    check_type_and_length('alphas', alphas, list, count)
    image = vis.get_image().astype(np.float64)
    for mask, color, alpha in zip(masks, colors, alphas):
        rgb = np.array(color_str2rgb(color) if isinstance(color, str) else color, np.float64)
        image[mask] = (1 - alpha) * image[mask] + alpha * rgb
    vis.ax_save.imshow(image.clip(0, 255).astype(np.uint8),
                       extent=(0, vis.width, vis.height, 0), interpolation='nearest')


def _resize(feat: torch.Tensor, size: tuple) -> torch.Tensor:
    return F.interpolate(feat[None].float(), size=tuple(size), mode='bilinear',
                         align_corners=False)[0]


def _grid(maps: list[np.ndarray], arrangement: tuple[int, int]) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    rows, cols = arrangement
    height, width = maps[0].shape[:2]
    fig = Figure(frameon=False)
    dpi = fig.get_dpi()
    fig.set_size_inches((cols * width + 1e-2) / dpi, (rows * height + 1e-2) / dpi)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1, wspace=0, hspace=0)
    for i, image in enumerate(maps):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.axis(False)
        ax.imshow(image)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return fit_to(img_from_canvas(canvas), rows * height, cols * width)


def featmap(feat: Any, overlaid: np.ndarray | None, reduction: str | None, topk: int,
            arrangement: tuple[int, int], resize_shape: tuple | None,
            alpha: float) -> np.ndarray:
    """See :meth:`Visualizer.draw_featmap`."""
    if not isinstance(feat, torch.Tensor) or feat.ndim != 3:
        raise TypeError(f'`featmap` must be a (C, H, W) tensor, got {type(feat).__name__}'
                        f'{tuple(getattr(feat, "shape", ()))}.')
    if reduction not in ('squeeze_mean', 'select_max', None):
        raise ValueError(f"`channel_reduction` must be 'squeeze_mean', 'select_max' or None, "
                         f'got {reduction!r}.')
    feat = feat.detach().float().cpu()
    size = resize_shape or (overlaid.shape[:2] if overlaid is not None else None)
    if size is not None:
        feat = _resize(feat, size)
    if overlaid is not None and tuple(overlaid.shape[:2]) != tuple(feat.shape[1:]):
        overlaid = _resize(torch.from_numpy(np.ascontiguousarray(overlaid)).permute(2, 0, 1),
                           feat.shape[1:]).permute(1, 2, 0).numpy().astype(np.uint8)
    if reduction == 'squeeze_mean':
        return convert_overlay_heatmap(feat.mean(0), overlaid, alpha)
    if reduction == 'select_max':
        index = feat.sum(dim=(1, 2)).argmax()
        return convert_overlay_heatmap(feat[index], overlaid, alpha)
    if topk <= 0:
        if feat.shape[0] not in (1, 3):
            raise ValueError('With `channel_reduction=None` and `topk<=0` the feature map '
                             f'needs 1 or 3 channels, got {feat.shape[0]}.')
        image = feat.permute(1, 2, 0).numpy()
        image = (image - image.min()) / max(image.max() - image.min(), 1e-12) * 255
        return np.repeat(image, 3 // image.shape[2], axis=2).astype(np.uint8)
    rows, cols = arrangement
    count = min(topk, feat.shape[0], rows * cols)
    indices = feat.sum(dim=(1, 2)).topk(count).indices
    maps = [convert_overlay_heatmap(feat[i], overlaid, alpha) for i in indices]
    return _grid(maps, (rows, cols))
