"""The one-model app the cache benchmarks read and write (see ``benchmarks/cache_common.py``)."""
