"""A small GAN with two optimizer wrappers (``OptimWrapperDict``) and a custom ``train_step``.

    python examples/gan/train.py [--max-iters N] [--work-dir DIR]

The generator learns to map Gaussian noise onto a ring of radius 2 in the plane. One training
iteration updates the discriminator, then the generator, each through its own optimizer
wrapper: ``optim_wrapper`` is a dict keyed by submodule name, so the runner builds an
``OptimWrapperDict`` and hands it to ``train_step``. Validation reports how far generated
points lie from the ring.
"""
import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner

RADIUS = 2.0


class RingPoints(Dataset):
    """Real samples: points on a circle of radius ``RADIUS`` with a little noise."""

    def __init__(self, size: int, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        theta = torch.rand(size, generator=gen) * 2 * math.pi
        radius = RADIUS + 0.05 * torch.randn(size, generator=gen)
        self.points = torch.stack([radius * theta.cos(), radius * theta.sin()], dim=1)

    def __getitem__(self, index):
        return dict(inputs=self.points[index])

    def __len__(self):
        return len(self.points)


def mlp(in_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64),
                         nn.LeakyReLU(0.2), nn.Linear(64, out_dim))


class ToyGAN(BaseModel):
    def __init__(self, noise_dim: int = 8) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.generator = mlp(noise_dim, 2)
        self.discriminator = mlp(2, 1)

    def forward(self, inputs, mode='tensor'):
        # Sampling: one generated point per input row.
        noise = torch.randn(len(inputs), self.noise_dim, device=inputs.device)
        return self.generator(noise)

    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, True)
        real = data['inputs']
        noise = torch.randn(len(real), self.noise_dim, device=real.device)
        disc_wrapper, gen_wrapper = optim_wrapper['discriminator'], optim_wrapper['generator']

        with disc_wrapper.optim_context(self.discriminator):
            fake = self.generator(noise).detach()
            real_logit, fake_logit = self.discriminator(real), self.discriminator(fake)
            loss_disc = (
                F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
        disc_wrapper.update_params(loss_disc)

        with gen_wrapper.optim_context(self.generator):
            fake_logit = self.discriminator(self.generator(noise))
            loss_gen = F.binary_cross_entropy_with_logits(fake_logit,
                                                          torch.ones_like(fake_logit))
        gen_wrapper.update_params(loss_gen)
        # Tensors, not numbers: the logger converts them only on logged iterations.
        return dict(loss_disc=loss_disc.detach(), loss_gen=loss_gen.detach())

    def val_step(self, data):
        data = self.data_preprocessor(data, False)
        return self(data['inputs'])

    test_step = val_step


class RingDistance(BaseMetric):
    """Mean distance of generated points from the ring."""

    def process(self, data_batch, data_samples):
        # The evaluator passes the model's outputs on as a sequence of per-sample rows.
        points = torch.stack(list(data_samples))
        self.results.append((points.norm(dim=1) - RADIUS).abs().sum().item())
        self.results.append(len(points))

    def compute_metrics(self, results):
        return dict(ring_distance=sum(results[::2]) / sum(results[1::2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-iters', type=int, default=2000)
    parser.add_argument('--log-interval', type=int, default=100)
    parser.add_argument('--work-dir', default='work_dirs/gan')
    args = parser.parse_args()
    runner = Runner(
        model=ToyGAN(),
        work_dir=args.work_dir,
        train_dataloader=dict(dataset=RingPoints(4096), batch_size=128,
                              sampler=dict(type='InfiniteSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=args.max_iters,
                       val_interval=max(args.max_iters // 2, 1)),
        # One wrapper per submodule: the runner builds an OptimWrapperDict.
        optim_wrapper=dict(
            generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
            discriminator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999)))),
        val_dataloader=dict(dataset=RingPoints(512, seed=1), batch_size=512,
                            sampler=dict(type='DefaultSampler', shuffle=False),
                            collate_fn=dict(type='default_collate')),
        val_cfg=dict(),
        val_evaluator=dict(type=RingDistance),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=args.log_interval),
                           checkpoint=dict(type='CheckpointHook', interval=args.max_iters,
                                           by_epoch=False)),
        randomness=dict(seed=0),
    )
    runner.train()
    print(f"ring distance after training: {runner.val()['ring_distance']:.3f}")


if __name__ == '__main__':
    main()
