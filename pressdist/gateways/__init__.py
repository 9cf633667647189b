"""Gateways: small implementations of ``sending.gateway.Gateway``, one module each.

Adding a gateway is one module here and one line in ``sending.gateway.REGISTRY``.
"""
