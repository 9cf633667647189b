"""Gateways: small implementations of ``sending.gateway.Gateway``, one module each.

Adding a gateway is one module here and one line in ``sending.gateway.REGISTRY``.
``memory`` is the in-memory one for tests and scripts; it is not in the registry.
"""
