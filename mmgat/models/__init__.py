"""Models, metrics and weight initializers registered in mmgat's registries."""
from .accuracy_metric import Accuracy
from .image_classifier import ImageClassifier
from .resnet_init import ResNetDefaultInit
from .separable_roi_align import SeparableRoIAlign, separable_roi_align
from .separable_roi_extractor import SeparableRoIExtractor

__all__ = ['Accuracy', 'ImageClassifier', 'ResNetDefaultInit', 'SeparableRoIAlign',
           'SeparableRoIExtractor', 'separable_roi_align']
