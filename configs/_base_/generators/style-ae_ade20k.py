# The trained ADE20K generator that the GAT attacks of configs/gat/*_ade20k-*.py
# re-synthesise with. Make it with:
#   python tools/train_generator.py configs/generators/style-ae_ade20k.py
# Another checkpoint for a GAT training config (configs/gat/*):
#   --cfg-options custom_hooks.0.attack.generator.checkpoint=PATH
# (`generator.checkpoint=PATH` changes only this variable, not the copy in the hook).
generator = dict(config='configs/generators/style-ae_ade20k.py',
                 checkpoint='work_dirs/style-ae_ade20k/generator.pth')
