"""The demo shop: a realistic synthetic shop in a store, its customers told about their orders.

``custdata demo`` runs :func:`run_demo`; the pieces are usable on their own, for notebooks and tests::

    with open_store("sqlite:///demo.db") as store:
        report = run_demo(store, DemoSettings(customers=500, seed=7))
    print(report.render())
"""

from custdata.demo.people import DemoPeople, demo_customers
from custdata.demo.report import DemoReport, segment_sizes
from custdata.demo.run import DEFAULT_NOW, DEMO_SHOP, DemoSettings, DemoStoreError, load_shop, run_demo

__all__ = [
    "DEFAULT_NOW",
    "DEMO_SHOP",
    "DemoPeople",
    "DemoReport",
    "DemoSettings",
    "DemoStoreError",
    "demo_customers",
    "load_shop",
    "run_demo",
    "segment_sizes",
]
