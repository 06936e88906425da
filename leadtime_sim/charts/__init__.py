"""Charts from results: ``catalogue`` (which charts exist), ``jobs`` (what each file shows, from
typed results), ``files`` (drawing them into ``DIR/charts/``). Drawing is :mod:`plotting`'s.

The package imports nothing itself, so that experiment validation can read the catalogue
without the chart builders, pandas or Matplotlib.
"""
