"""Predictive CLV: BG/NBD for purchases and probability alive, Gamma-Gamma for spend.

The models need numpy and scipy (``pip install 'custdata[analytics]'``), imported on first use;
:func:`clv_summary` is pure Python.
"""

from custdata.analytics.predictive.betageo import BetaGeo, BetaGeoParams
from custdata.analytics.predictive.clv import ClvPrediction, ClvPredictions, predict_clv
from custdata.analytics.predictive.gammagamma import GammaGamma, GammaGammaParams
from custdata.analytics.predictive.summary import ClvInput, ClvSummary, clv_summary

__all__ = [
    "BetaGeo",
    "BetaGeoParams",
    "ClvInput",
    "ClvPrediction",
    "ClvPredictions",
    "ClvSummary",
    "GammaGamma",
    "GammaGammaParams",
    "clv_summary",
    "predict_clv",
]
