"""Notebook helpers: HTML renderings with personal data masked, and matplotlib plots.

``import custdata.notebook`` in a Jupyter or IPython session makes customers, orders, messages, activity
events, customer 360 views and analytics results display as HTML (``%load_ext custdata.notebook`` does the
same explicitly); the model classes themselves know nothing of notebooks (see
:mod:`custdata.notebook.display`).
``show(obj)`` renders a customer, order, message, activity event, customer 360 view or any analytics result
as HTML (names, emails, phones and streets masked; ``reveal=True`` shows them). The plots
(:func:`cohort_heatmap`, :func:`rfm_segment_bars`, :func:`clv_distribution`) need
``pip install 'custdata[notebook]'``; matplotlib is imported only when one is drawn. :func:`to_records` and
:func:`to_pandas` turn the results of repository queries into rows (pandas imported only when asked for).
"""

from custdata.notebook.display import (
    load_ipython_extension,
    register_html,
    running_ipython,
    unload_ipython_extension,
)
from custdata.notebook.frames import to_pandas, to_records
from custdata.notebook.masking import PII_FIELDS, mask_email, mask_phone, mask_text, pii_revealed, reveal_pii
from custdata.notebook.plots import clv_distribution, cohort_heatmap, rfm_segment_bars
from custdata.notebook.render import Html, show, to_html
from custdata.notebook.tables import result_html

__all__ = [
    "load_ipython_extension",
    "register_html",
    "unload_ipython_extension",
    "PII_FIELDS",
    "Html",
    "clv_distribution",
    "cohort_heatmap",
    "mask_email",
    "mask_phone",
    "mask_text",
    "pii_revealed",
    "result_html",
    "reveal_pii",
    "rfm_segment_bars",
    "show",
    "to_html",
    "to_pandas",
    "to_records",
]

_shell = running_ipython()
if _shell is not None:  # imported in a notebook: what Jupyter shows is HTML from here on
    load_ipython_extension(_shell)
del _shell
