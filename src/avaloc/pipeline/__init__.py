"""End-to-end jobs composed from the stages: quickstart, ablation, video demo, reports.

The top of the data flow: it may import every stage; no stage imports it.
"""
