_base_ = ['./chain/level2.py', './chain/data.yaml']
# Top of the chain: reads base values three ways.
model = dict(width=_base_.model.layers * 16)
depth = {{_base_.model.layers}}
optimizer = dict(momentum=0.95)
batch_size = _base_.train_dataloader.batch_size
run_name = 'run-{{_base_.optimizer.type}}'
