"""What DAG files import: DAGs, operators, TaskFlow decorators, templating, serialization."""
