"""BaseModel, the data preprocessors and the batch augmentations they can run."""
from .base_model import BaseModel
from .batch_augments import BatchRandomCrop, BatchRandomFlip
from .data_preprocessor import BaseDataPreprocessor, ImgDataPreprocessor

__all__ = ['BaseModel', 'BaseDataPreprocessor', 'ImgDataPreprocessor', 'BatchRandomCrop',
           'BatchRandomFlip']
