"""perflab's load generator: Locust users, load shapes and load-side metrics.

`locustfile.py` is the entry Locust loads; `recipes.py` (stdlib only) says how to call
and validate each technique endpoint, and is shared with `lab smoke`; `browser_cache.py`
(stdlib only) is a browser's view of a page's assets: which it links, which it asks again.
"""
