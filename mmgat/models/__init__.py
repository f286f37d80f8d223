"""Models, metrics and weight initializers registered in mmgat's registries."""
from .accuracy_metric import Accuracy
from .image_classifier import ImageClassifier
from .resnet_init import ResNetDefaultInit

__all__ = ['Accuracy', 'ImageClassifier', 'ResNetDefaultInit']
