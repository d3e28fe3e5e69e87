"""Keras model -> `.tflite` (float32, float16, dynamic-range or full-integer int8) with metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

import keras
import numpy as np
import tensorflow as tf

from lightser.features import FeatureRecipe
from lightser.metadata import ModelMetadata, sha256_hex, sidecar_path, write_metadata

VARIANTS = ("int8", "float16", "float32", "dynamic-range")


def to_tflite(model: keras.Model, variant: str, representative: np.ndarray | None = None) -> bytes:
    """Convert with builtin ops only. int8 needs `representative` features (clips, frames, coeffs)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic-range":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("int8 export needs representative features")

        def samples() -> Iterator[list[np.ndarray]]:
            for x in representative:
                yield [x[None, :, :, None].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif variant != "float32":
        raise ValueError(f"variant {variant!r}: expected one of {VARIANTS}")
    return converter.convert()


def write_model(
    content: bytes,
    path: Path,
    labels: tuple[str, ...],
    recipe: FeatureRecipe,
    variant: str,
    training: Mapping[str, Any],
    metrics: Mapping[str, Any] | None = None,
) -> ModelMetadata:
    """Write `path` (.tflite) and its `.json` sidecar; return the metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    meta = ModelMetadata(
        name=path.stem, labels=labels, recipe=recipe, quantization=variant,
        sha256=sha256_hex(content), training=dict(training), metrics=dict(metrics or {}),
    )
    write_metadata(meta, sidecar_path(path))
    return meta


def op_names(content: bytes) -> set[str]:
    """Operator names in a `.tflite` model, read without applying any delegate."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_content=content,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    return {op["op_name"] for op in interpreter._get_ops_details()}
