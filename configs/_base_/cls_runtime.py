_base_ = ['./default_runtime.py']
default_scope = 'mmgat'
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
