"""The fraud benchmark: labelled case generators (``cases``: bank, duplicates, sender, anomalies, PO)
and the renderer they use (``render``); the harness is ``bench.fraud_suite``."""
