_base_ = './level1.py'
# Overrides one nested value and replaces the activation completely.
model = dict(layers=3, act=dict(_delete_=True, type='GELU'))
optimizer = dict(lr=0.01)
work_dir = 'work_dirs/level2'
