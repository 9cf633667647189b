"""Mail: one localised message per release and language, and its preview.

Owns addresses, the sender's identity, content and layout, MIME and wrapping.
Imports only ``quality`` and the layers below it.
"""
