# The robustness suite for Pascal VOC detectors (configs/<method>/*_1x_voc0712.py): the
# COCO suite (unseen_coco.py: the entries of unseen_digitscenes.py that apply to natural
# images, sized for one GPU node) on VOC2007 test (4952 images) with the VOC generator
# (python tools/train_generator.py configs/generators/style-ae_voc.py); the score is
# VOCMetric's mAP (AP50, 11 points).
#
#   python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_voc.py \
#       --work-dir work_dirs/robustness/NAME
_base_ = ['./unseen_coco.py']
generator = dict(
    _delete_=True,
    detection=dict(config='configs/generators/style-ae_voc.py',
                   checkpoint='work_dirs/style-ae_voc/generator.pth'))
# VOCMetric's mAP (AP at IoU 0.5, 11-point, VOC2007's protocol).
metric = dict(_delete_=True, key='pascal_voc/mAP', name='mAP (AP50)', scale=1.0)
