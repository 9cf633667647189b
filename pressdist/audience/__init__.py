"""Audience: distribution lists, their rows, and which language each reader gets.

Imports only ``mail`` (for addresses) and the layers below it.
"""
