"""Quality: checks of each translation against its source, and readiness to send.

Imports only ``translation``, ``source`` and the foundation.
"""
