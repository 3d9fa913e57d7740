"""The compositional offline image source (``compose:``): see :mod:`.generator`."""
