"""The version of custdata, written in this one place (the build reads it from here too)."""

__version__ = "0.1.0"
