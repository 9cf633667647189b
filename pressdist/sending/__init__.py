"""Sending: the plan, the delivery run, the journal and the gateway protocol.

Owns the press office's main job. Imports the layers below it and never a gateway
module directly: gateways are found by name through ``sending.gateway``.
"""
