"""Mail: one localised message per release and language, and its preview.

Owns addresses, the sender's identity, what a mail says (``content``), its
layout as text and HTML (``layout``), the MIME body built once per language
and personalised per recipient (``render``, ``mime``) and wrapping. Imports
only ``quality`` and the layers below it.
"""
