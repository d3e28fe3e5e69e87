"""Light-SERNet (Aftab et al., ICASSP 2022) in Keras: 463 431 parameters for 7 classes."""

from __future__ import annotations

import keras
from keras import layers, regularizers

PATHS = (("time", (11, 1)), ("frequency", (1, 9)), ("time_frequency", (3, 3)))
LFLBS = ((64, (2, 2)), (96, (2, 2)), (128, (2, 1)), (160, (2, 1)))


def _bn_relu(x: keras.KerasTensor, name: str, momentum: float) -> keras.KerasTensor:
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build(
    input_shape: tuple[int, int],
    n_classes: int,
    l2: float = 1e-6,
    dropout: float = 0.3,
    bn_momentum: float = 0.9,
) -> keras.Model:
    """Three parallel conv paths (time, frequency, time-frequency), four LFLBs, 1x1 conv, GAP, softmax.

    input_shape: (frames, coefficients) of one feature matrix.
    bn_momentum: 0.9 rather than Keras' 0.99: with ~15 batches per epoch the slower
        moving averages lag the weights for many epochs and inference-mode accuracy stalls.
    """
    inputs = keras.Input(shape=(*input_shape, 1), name="mfcc")
    paths = []
    for name, kernel in PATHS:
        x = layers.Conv2D(32, kernel, padding="same", name=f"{name}_conv")(inputs)
        x = _bn_relu(x, name, bn_momentum)
        paths.append(layers.AveragePooling2D(2, name=f"{name}_pool")(x))
    x = layers.Concatenate(name="paths")(paths)
    for i, (filters, pool) in enumerate(LFLBS, start=1):
        x = layers.Conv2D(
            filters, 3, padding="same", use_bias=False,
            kernel_regularizer=regularizers.L2(l2), name=f"lflb{i}_conv",
        )(x)
        x = _bn_relu(x, f"lflb{i}", bn_momentum)
        x = layers.AveragePooling2D(pool, name=f"lflb{i}_pool")(x)
    x = layers.Conv2D(320, 1, use_bias=False, kernel_regularizer=regularizers.L2(l2), name="mix_conv")(x)
    x = _bn_relu(x, "mix", bn_momentum)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="scores")(x)
    return keras.Model(inputs, outputs, name="light_sernet")
