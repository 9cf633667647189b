"""Translation: units, catalogs (.po read and write), the memory, TMX and glossaries.

Owns what translators touch. Imports only ``source`` and the foundation.
"""
