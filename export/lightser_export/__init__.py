"""LightSER training side: datasets, Light-SERNet in Keras, evaluation, TFLite export.

Installed as its own distribution, lightser-export (`pip install ./export`, with TensorFlow).
Features come from the runtime's own `lightser.features`, so training and inference share one
implementation.
"""
