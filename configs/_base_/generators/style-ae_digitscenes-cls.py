# The trained DigitScenes generator for 32 px classification images.
# Make it with: python tools/train_generator.py configs/generators/style-ae_digitscenes-cls.py
# Another checkpoint: --cfg-options custom_hooks.1.attack.generator.checkpoint=PATH
generator = dict(config='configs/generators/style-ae_digitscenes-cls.py',
                 checkpoint='work_dirs/style-ae_digitscenes-cls/generator.pth')
