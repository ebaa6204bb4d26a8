"""A hook that records every stage it sees, for contract tests of the runner's hook order."""
from __future__ import annotations

from mmengine.hooks import Hook

STAGES = (
    'before_run', 'after_run', 'before_train', 'after_train', 'before_train_epoch',
    'after_train_epoch', 'before_train_iter', 'after_train_iter', 'before_val', 'after_val',
    'before_val_epoch', 'after_val_epoch', 'before_val_iter', 'after_val_iter', 'before_test',
    'after_test', 'before_test_epoch', 'after_test_epoch', 'before_test_iter',
    'after_test_iter', 'before_save_checkpoint', 'after_load_checkpoint',
)


class RecordingHook(Hook):
    """Appends ``(stage, detail)`` to ``self.calls`` for every stage; detail is the batch
    index for iteration stages, else None."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def stages(self, prefix: str | None = None) -> list[str]:
        """The recorded stage names (optionally only those starting with ``prefix``)."""
        return [s for s, _ in self.calls if prefix is None or s.startswith(prefix)]


def _make_stage(name: str):
    def stage(self, runner, *args, **kwargs):
        self.calls.append((name, kwargs.get('batch_idx')))
    stage.__name__ = name
    return stage


for _name in STAGES:
    setattr(RecordingHook, _name, _make_stage(_name))
