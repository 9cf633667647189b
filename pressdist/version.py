"""The version of pressdist, in one place: the package metadata and every tool header read it."""

__version__ = "0.1.0"
