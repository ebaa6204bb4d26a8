from torch.nn import ReLU

model = dict(type='ToyModel', layers=2, act=dict(type=ReLU))
work_dir = 'work_dirs/lazy_base'
