"""The Visualizer: draw on images with matplotlib and record to visualization backends.

One ``Visualizer`` per experiment (a ``ManagerMixin``: fetch it anywhere with
``Visualizer.get_current_instance()``). It records scalars, images, configs and graphs to
every backend it holds, on the main process only, and offers drawing primitives (points,
texts, lines, circles, boxes, polygons, masks, feature maps) on a canvas of the image set with
:meth:`set_image`. matplotlib is imported only when drawing starts.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import torch

from mmengine.dist import master_only
from mmengine.registry import VISBACKENDS, VISUALIZERS
from mmengine.utils import ManagerMixin

from . import _drawing
from ._base_backend import BaseVisBackend
from .utils import img_from_canvas, tensor2ndarray, wait_continue


def _build_backends(vis_backends: Any, save_dir: str | None) -> dict[str, BaseVisBackend]:
    """Build backend configs (or take built backends) into a name -> backend dict."""
    if vis_backends is None:
        return {}
    entries = vis_backends if isinstance(vis_backends, (list, tuple)) else [vis_backends]
    built: dict[str, BaseVisBackend] = {}
    skipped = []
    for entry in entries:
        if isinstance(entry, BaseVisBackend):
            name, backend = type(entry).__name__, entry
        elif isinstance(entry, dict):
            cfg = copy.copy(entry)
            kind = cfg.get('type')
            name = cfg.pop('name', kind if isinstance(kind, str) else getattr(kind, '__name__',
                                                                              str(kind)))
            if save_dir is None and cfg.get('save_dir') is None:
                skipped.append(name)
                continue
            cfg.setdefault('save_dir', save_dir)
            backend = VISBACKENDS.build(cfg)
        else:
            raise TypeError(f'Each entry of `vis_backends` must be a config dict or a built '
                            f'backend, but got {type(entry).__name__}.')
        if name in built:
            raise ValueError(f'Two visualization backends are named {name!r}; give them '
                             'distinct `name` keys.')
        built[name] = backend
    if skipped:
        warnings.warn(f'The Visualizer has no `save_dir`, so the backends {skipped} are not '
                      'initialized; pass `save_dir=` (the runner passes its log directory).')
    return built


@VISUALIZERS.register_module()
class Visualizer(ManagerMixin):
    """Draw on images and record scalars, images and configs to visualization backends.

    Args:
        name: Instance name. Defaults to ``'visualizer'``.
        image: Optional RGB image to draw on at once.
        vis_backends: One backend config (``dict(type='LocalVisBackend')``) or built backend,
            or a list of them. An optional ``name`` key names a backend for
            :meth:`get_backend` (default: its type name).
        save_dir: Directory of the backends' files; backends write to ``save_dir/vis_data``.
        fig_save_cfg: Keyword arguments of the off-screen figure. Defaults to
            ``dict(frameon=False)``.
        fig_show_cfg: Keyword arguments of the figure used by :meth:`show`.

    Examples:
        >>> import numpy as np
        >>> vis = Visualizer(image=np.zeros((20, 30, 3), dtype=np.uint8))
        >>> vis.draw_bboxes(np.array([[2, 2, 10, 10]]), edge_colors='r')  # doctest: +ELLIPSIS
        <...Visualizer object at ...>
        >>> vis.get_image().shape
        (20, 30, 3)
    """

    def __init__(self, name: str = 'visualizer', image: np.ndarray | None = None,
                 vis_backends: Any = None, save_dir: str | None = None,
                 fig_save_cfg: dict = dict(frameon=False),  # noqa: B006
                 fig_show_cfg: dict = dict(frameon=False)) -> None:  # noqa: B006
        super().__init__(name)
        self._dataset_meta: dict | None = None
        if save_dir is not None:
            import os.path as osp
            save_dir = osp.join(str(save_dir), 'vis_data')
        self._vis_backends = _build_backends(vis_backends, save_dir)
        self.fig_save_cfg = dict(fig_save_cfg)
        self.fig_show_cfg = dict(fig_show_cfg)
        self._image: np.ndarray | None = None
        self.fig_save: Any = None
        if image is not None:
            self.set_image(image)

    @classmethod
    def get_instance(cls, name: str, **kwargs: Any) -> Visualizer:
        """Return (creating if needed) the instance ``name``.

        Instances of subclasses are also registered with ``Visualizer`` so that
        ``Visualizer.get_current_instance()`` finds a downstream visualizer.
        """
        instance = super().get_instance(name, **kwargs)
        if cls is not Visualizer:
            Visualizer._instance_dict[name] = instance
            Visualizer._instance_dict.move_to_end(name)
        return instance

    @property
    def dataset_meta(self) -> dict | None:
        """Meta information of the dataset (class names, palette...) used when drawing."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        self._dataset_meta = dataset_meta

    # ----------------------------------------------------------------------------- canvas
    def _setup_fig(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        self.fig_save = Figure(**self.fig_save_cfg)
        self.ax_save = self.fig_save.add_subplot()
        self.ax_save.axis(False)
        self.fig_save.subplots_adjust(left=0, right=1, bottom=0, top=1, wspace=0, hspace=0)
        self.fig_save_canvas = FigureCanvasAgg(self.fig_save)
        self.dpi = self.fig_save.get_dpi()

    def set_image(self, image: np.ndarray) -> None:
        """Set the RGB image to draw on (drawings made so far are discarded).

        Args:
            image: An ``(H, W, 3)`` (or ``(H, W)``) array, converted to uint8.
        """
        image = np.asarray(tensor2ndarray(image))
        if image.ndim not in (2, 3):
            raise ValueError(f'`image` must be (H, W) or (H, W, C), got shape {image.shape}.')
        if self.fig_save is None:
            self._setup_fig()
        self._image = image.astype(np.uint8)
        self.height, self.width = image.shape[:2]
        self._default_font_size = max(np.sqrt(self.height * self.width) // 90, 10)
        self.fig_save.set_size_inches((self.width + 1e-2) / self.dpi,
                                      (self.height + 1e-2) / self.dpi)
        self.ax_save.cla()
        self.ax_save.axis(False)
        self.ax_save.imshow(self._image, extent=(0, self.width, self.height, 0),
                            interpolation='none')

    def get_image(self) -> np.ndarray:
        """Render the canvas and return the drawn RGB image, ``(H, W, 3)`` uint8."""
        if self._image is None:
            raise RuntimeError('No image has been set; call `set_image(image)` first.')
        self.fig_save_canvas.draw()
        rendered = img_from_canvas(self.fig_save_canvas)
        return _drawing.fit_to(rendered, self.height, self.width)

    def _check_image(self) -> None:
        if self._image is None:
            raise RuntimeError('Set an image with `set_image(image)` before drawing on it.')

    def show(self, drawn_img: np.ndarray | None = None, win_name: str = 'image',
             wait_time: float = 0., continue_key: str = ' ', backend: str = 'matplotlib') -> None:
        """Show the drawn image (or ``drawn_img``) in a window.

        Args:
            drawn_img: Image to show instead of the canvas.
            win_name: Window title.
            wait_time: Seconds to wait; 0 waits for ``continue_key`` or the window to close.
            continue_key: Key that continues.
            backend: Only ``'matplotlib'`` is supported.
        """
        if backend != 'matplotlib':
            raise ValueError(f"Only the 'matplotlib' show backend is supported, got {backend!r}.")
        import matplotlib.pyplot as plt
        img = self.get_image() if drawn_img is None else drawn_img
        figure = plt.figure(**self.fig_show_cfg)
        figure.canvas.manager.set_window_title(win_name)
        plt.axis('off')
        plt.imshow(img)
        plt.show(block=False)
        wait_continue(figure, timeout=wait_time, continue_key=continue_key)
        plt.close(figure)

    # ------------------------------------------------------------------------- backends
    def get_backend(self, name: str) -> BaseVisBackend | None:
        """Return the backend called ``name`` (its type name by default), or ``None``."""
        return self._vis_backends.get(name)

    @master_only
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the config to every backend."""
        for backend in self._vis_backends.values():
            backend.add_config(config, **kwargs)

    @master_only
    def add_graph(self, model: torch.nn.Module, data_batch: Any, **kwargs: Any) -> None:
        """Record the model graph to every backend."""
        for backend in self._vis_backends.values():
            backend.add_graph(model, data_batch, **kwargs)

    @master_only
    def add_image(self, name: str, image: np.ndarray, step: int = 0) -> None:
        """Record an RGB image to every backend."""
        for backend in self._vis_backends.values():
            backend.add_image(name, image, step)

    @master_only
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar to every backend."""
        for backend in self._vis_backends.values():
            backend.add_scalar(name, value, step, **kwargs)

    @master_only
    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        """Record several scalars at ``step`` to every backend.

        Args:
            scalar_dict: Name -> number.
            step: Global step.
            file_path: Extra JSON file name for backends that write files.
        """
        for backend in self._vis_backends.values():
            backend.add_scalars(scalar_dict, step, file_path, **kwargs)

    @master_only
    def add_datasample(self, name: str, image: np.ndarray, data_sample: Any = None,
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: int = 0, step: int = 0) -> None:
        """Draw a data sample's annotations/predictions; task visualizers implement this.

        The base class records the plain image so that a run with the naive visualization
        hook still produces output.
        """
        self.set_image(image)
        drawn = self.get_image()
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        self.add_image(name, drawn, step)

    def close(self) -> None:
        """Close every backend and the figure."""
        for backend in self._vis_backends.values():
            backend.close()
        if self.fig_save is not None:
            self.fig_save.clf()

    # -------------------------------------------------------------------------- drawing
    def draw_points(self, positions: Any, colors: Any = 'g', marker: str | None = None,
                    sizes: Any = None) -> Visualizer:
        """Draw points at ``positions`` (an ``(N, 2)`` array of x, y)."""
        self._check_image()
        _drawing.points(self, positions, colors, marker, sizes)
        return self

    def draw_texts(self, texts: str | list[str], positions: Any, font_sizes: Any = None,
                   colors: Any = 'g', vertical_alignments: Any = 'top',
                   horizontal_alignments: Any = 'left', font_families: Any = 'sans-serif',
                   bboxes: Any = None, font_properties: Any = None) -> Visualizer:
        """Draw one text per position (``(2,)`` or ``(N, 2)`` x, y)."""
        self._check_image()
        _drawing.texts(self, texts, positions, font_sizes, colors, vertical_alignments,
                       horizontal_alignments, font_families, bboxes, font_properties)
        return self

    def draw_lines(self, x_datas: Any, y_datas: Any, colors: Any = 'g', line_styles: Any = '-',
                   line_widths: Any = 2) -> Visualizer:
        """Draw ``N`` segments: ``x_datas`` and ``y_datas`` are ``(N, 2)`` start/end coords."""
        self._check_image()
        _drawing.lines(self, x_datas, y_datas, colors, line_styles, line_widths)
        return self

    def draw_circles(self, center: Any, radius: Any, edge_colors: Any = 'g',
                     line_styles: Any = '-', line_widths: Any = 2, face_colors: Any = 'none',
                     alpha: float | int = 0.8) -> Visualizer:
        """Draw circles with ``center`` ``(N, 2)`` and ``radius`` ``(N,)``."""
        self._check_image()
        _drawing.circles(self, center, radius, edge_colors, line_styles, line_widths,
                         face_colors, alpha)
        return self

    def draw_bboxes(self, bboxes: Any, edge_colors: Any = 'g', line_styles: Any = '-',
                    line_widths: Any = 2, face_colors: Any = 'none',
                    alpha: float | int = 0.8) -> Visualizer:
        """Draw boxes given as ``(N, 4)`` ``x1, y1, x2, y2``."""
        self._check_image()
        polygons = _drawing.bboxes_to_polygons(bboxes)
        return self.draw_polygons(polygons, edge_colors, line_styles, line_widths, face_colors,
                                  alpha)

    def draw_polygons(self, polygons: Any, edge_colors: Any = 'g', line_styles: Any = '-',
                      line_widths: Any = 2, face_colors: Any = 'none',
                      alpha: float | int = 0.8) -> Visualizer:
        """Draw polygons, each a ``(K, 2)`` array of x, y vertices."""
        self._check_image()
        _drawing.polygons(self, polygons, edge_colors, line_styles, line_widths, face_colors,
                          alpha)
        return self

    def draw_binary_masks(self, binary_masks: Any, colors: Any = 'g',
                          alphas: float | list = 0.8) -> Visualizer:
        """Blend ``(H, W)`` or ``(N, H, W)`` boolean masks onto the image in ``colors``."""
        self._check_image()
        _drawing.binary_masks(self, binary_masks, colors, alphas)
        return self

    @staticmethod
    def draw_featmap(featmap: torch.Tensor, overlaid_image: np.ndarray | None = None,
                     channel_reduction: str | None = 'squeeze_mean', topk: int = 20,
                     arrangement: tuple[int, int] = (4, 5), resize_shape: tuple | None = None,
                     alpha: float = 0.5) -> np.ndarray:
        """Render a ``(C, H, W)`` feature map as a heat map (optionally over an image).

        Args:
            featmap: The feature map.
            overlaid_image: RGB image to overlay onto.
            channel_reduction: ``'squeeze_mean'`` (mean over channels), ``'select_max'`` (the
                channel with the largest activation sum) or ``None`` (show ``topk`` channels).
            topk: Channels shown when ``channel_reduction`` is ``None`` (all when <= 0,
                which needs ``C`` to be 1 or 3).
            arrangement: Rows and columns of the grid of ``topk`` channels.
            resize_shape: ``(H, W)`` to resize to.
            alpha: Heat map weight when overlaying.

        Returns:
            An RGB uint8 image.
        """
        return _drawing.featmap(featmap, overlaid_image, channel_reduction, topk, arrangement,
                                resize_shape, alpha)
