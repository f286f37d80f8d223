# The trained DigitScenes generator (128 px scenes) that GAT attacks re-synthesise with.
# Make it with: python tools/train_generator.py configs/generators/style-ae_digitscenes.py
# Another checkpoint: --cfg-options custom_hooks.1.attack.generator.checkpoint=PATH
generator = dict(config='configs/generators/style-ae_digitscenes.py',
                 checkpoint='work_dirs/style-ae_digitscenes/generator.pth')
