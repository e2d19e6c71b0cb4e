"""perflab: a performance observability lab for Python web services."""
