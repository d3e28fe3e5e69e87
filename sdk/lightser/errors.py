"""Every error LightSER raises: one base class, one subclass per kind of problem."""


class LightSERError(Exception):
    """Base class of all LightSER errors."""


class InvalidArgumentError(LightSERError, ValueError):
    """An argument has the wrong type or value."""


class AudioError(LightSERError):
    """Audio could not be read or decoded."""


class AudioTooShortError(AudioError):
    """Audio is empty or shorter than the minimum the model accepts."""


class NonFiniteAudioError(AudioError):
    """Audio contains NaN or infinite samples."""


class NoSpeechError(AudioError):
    """The speech gate turned every window of the audio away (quiet, or no voiced pitch)."""


class ModelError(LightSERError):
    """A model file or its metadata is missing, damaged or inconsistent."""


class BackendUnavailableError(LightSERError, ImportError):
    """No TFLite interpreter package is installed (or the named one is not)."""
