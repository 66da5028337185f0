"""Explanations stage: ``python -m <package>.explanations`` (or ``make explain``).

The attribution method of this modality and the ``explanations.json`` contract are shared
with the server's ``/explain`` route, so they live in ``core/attributions.py`` and
``core/explanation_report.py``; ``plots.py`` draws the PNG figures (matplotlib, no display).
"""
