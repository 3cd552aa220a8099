"""Example pipelines shipped with Tradewind, copied into the DAGs folder by standalone."""
