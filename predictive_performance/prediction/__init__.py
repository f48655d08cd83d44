"""The parts behind ``predictive_performance.predict.PerformancePredictor``, one job each.

``inputs`` (configurations as given, checked cell by cell), ``resolution`` (catalog names, platform
representatives, fallbacks), ``assembly`` (features and every metric's figures, one row per
configuration), ``result`` (the typed ``Prediction``), ``explanation`` (SHAP) and ``views``
(matrix, heatmap, recommendation and report, each built from a predictor).
"""
