"""Action operators (Bash, Python, Empty, branching), as in ``airflow.operators``."""
