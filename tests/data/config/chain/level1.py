# Bottom of a three-file inheritance chain.
model = dict(type='ToyModel', layers=2, act=dict(type='ReLU', inplace=True))
optimizer = dict(type='SGD', lr=0.1, momentum=0.9)
work_dir = 'work_dirs/level1'
schedule = [dict(type='Warmup', end=5), dict(type='Cosine', end=100)]
