"""Shared code of every stage. Stages import from here, ``data`` and ``models``, never from each
other (``make lint`` checks it); code that a second stage needs moves here."""
