"""perfpredict: predict ML model performance on hardware nobody has benchmarked yet."""

__version__ = "0.1.0"
