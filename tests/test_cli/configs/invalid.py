# A config with two mistakes that `mmengine config --validate` must both report.
_base_ = ['./rings_small.py']

model = dict(type='MyAwesomeModle')
train_dataloader = dict(sampler=dict(type='DefaultSampler', shufle=True))
