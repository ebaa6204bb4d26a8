from mmengine.config import read_base

with read_base():
    from .lazy_base import *

import torch.nn as nn
from torch.optim import SGD

model.layers = 4
optim_wrapper = dict(optimizer=dict(type=SGD, lr=0.01), clip=dict(type=nn.utils.clip_grad_norm_))
work_dir = 'work_dirs/lazy_child'
