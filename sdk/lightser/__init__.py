"""LightSER: on-device speech emotion recognition with Light-SERNet and TFLite."""

from .errors import (
    AudioError,
    AudioTooShortError,
    BackendUnavailableError,
    InvalidArgumentError,
    LightSERError,
    ModelError,
    NonFiniteAudioError,
    NoSpeechError,
)
from .features import FeatureRecipe
from .live import Listener
from .model import Model, bundled_models
from .recognizer import Recognizer
from .results import Prediction, Segment

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "AudioTooShortError",
    "BackendUnavailableError",
    "FeatureRecipe",
    "InvalidArgumentError",
    "LightSERError",
    "Listener",
    "Model",
    "ModelError",
    "NoSpeechError",
    "NonFiniteAudioError",
    "Prediction",
    "Recognizer",
    "Segment",
    "__version__",
    "bundled_models",
]
