"""LightSER training side: datasets, Light-SERNet in Keras, evaluation, TFLite export.

Needs the `export` extra (TensorFlow). Features come from the runtime's own
`lightser.features`, so training and inference share one implementation.
"""
