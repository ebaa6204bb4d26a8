"""Offline evaluation: dump predictions once, compute metrics from the file later.

    python examples/offline_eval/run.py [--work-dir DIR] [--max-epochs N]

1. Train the rings classifier briefly.
2. Test it with ``DumpResults`` as the test metric: every prediction is pickled to
   ``predictions.pkl`` and no metric is computed.
3. Load the pickle and evaluate it with ``Evaluator.offline_evaluate`` — no model, no
   dataloader; this is how predictions from another machine or an earlier run are scored.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', 'rings'))

import rings_components  # noqa: E402,F401  (registers MyAwesomeModel, MyDataset, Accuracy)

from mmengine.evaluator import BaseMetric, Evaluator  # noqa: E402
from mmengine.fileio import load  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


class SampleAccuracy(BaseMetric):
    """Accuracy over individual dumped predictions (each a ``(scores, label)`` pair)."""

    def process(self, data_batch, data_samples):
        for scores, label in data_samples:
            self.results.append(int(scores.argmax()) == int(label))

    def compute_metrics(self, results):
        return dict(accuracy=100 * sum(results) / len(results))


def loader(is_train: bool, size: int) -> dict:
    return dict(dataset=dict(type='MyDataset', is_train=is_train, size=size),
                sampler=dict(type='DefaultSampler', shuffle=is_train),
                collate_fn=dict(type='default_collate'), batch_size=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/offline_eval')
    parser.add_argument('--max-epochs', type=int, default=2)
    parser.add_argument('--train-size', type=int, default=5000)
    args = parser.parse_args()
    out_file = osp.join(args.work_dir, 'predictions.pkl')

    runner = Runner(
        model=dict(type='MyAwesomeModel', layers=2),
        work_dir=args.work_dir,
        train_dataloader=loader(True, args.train_size),
        train_cfg=dict(by_epoch=True, max_epochs=args.max_epochs),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.003)),
        test_dataloader=loader(False, 1000),
        test_cfg=dict(),
        # The rings model predicts (scores, labels) per batch; DumpResults stores them as
        # they are, so we split them into per-sample pairs ourselves below.
        test_evaluator=[dict(type='Accuracy'), dict(type='DumpResults', out_file_path=out_file)],
        randomness=dict(seed=0),
    )
    runner.train()
    online = runner.test()

    dumped = load(out_file)  # [scores_0, labels_0, scores_1, labels_1, ...]
    pairs = [(scores, label) for scores_batch, labels_batch in zip(dumped[::2], dumped[1::2])
             for scores, label in zip(scores_batch, labels_batch)]
    offline = Evaluator(SampleAccuracy()).offline_evaluate(pairs, chunk_size=100)
    print(f"online accuracy: {float(online['accuracy']):.2f}  "
          f"offline accuracy: {offline['accuracy']:.2f}  ({len(pairs)} dumped predictions)")


if __name__ == '__main__':
    main()
