"""Models and metrics registered in mmgat's ``MODELS`` / ``METRICS`` registries."""
from .accuracy_metric import Accuracy
from .image_classifier import ImageClassifier

__all__ = ['Accuracy', 'ImageClassifier']
