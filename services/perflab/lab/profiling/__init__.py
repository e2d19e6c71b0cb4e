"""`lab profile`: py-spy on a live service, flag comparisons, memory windows.

The lab-tool half of profiling; the per-request half (and the speedscope reader and
flame graph renderer this one uses) is `perflab.profile`, below the services.
"""
