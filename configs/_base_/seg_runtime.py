_base_ = ['./default_runtime.py']
default_scope = 'mmseg'
default_hooks = dict(visualization=dict(type='SegVisualizationHook'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
