"""The lab's Grafana dashboards, generated from code (grafana-foundation-sdk).

`python -m perflab.dashboards` writes `grafana/dashboards/*.json`, the files Grafana
provisions; `--check` fails when the committed JSON differs from what the code builds.
Each module builds one dashboard; `build` lists them, `common` holds the shared pieces,
`queries` the PromQL. Nothing is imported here: `queries` (which the console reads too)
must load where the Grafana SDK is not installed, as in the app image.
"""
