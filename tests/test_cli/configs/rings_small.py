# The rings example with small sizes for fast CLI tests, plus a test split.
_base_ = ['../../../examples/rings/example_config.py']

train_dataloader = dict(dataset=dict(size=512), batch_size=64, num_workers=0,
                        pin_memory=False)
val_dataloader = dict(dataset=dict(size=200), batch_size=100, num_workers=0,
                      pin_memory=False)
test_dataloader = dict(
    dataset=dict(type='MyDataset', is_train=False, size=200),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    batch_size=100,
    num_workers=0)
test_cfg = dict()
test_evaluator = dict(type='Accuracy')
train_cfg = dict(max_epochs=1, val_begin=1)
default_hooks = dict(logger=dict(type='LoggerHook', interval=2))
randomness = dict(seed=0)
