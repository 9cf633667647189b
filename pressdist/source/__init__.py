"""Source: the German release as the office writes it: model, file format, ids, import, segments.

Owns everything about a release before translation. Imports only the foundation
modules at the top of the package.
"""
