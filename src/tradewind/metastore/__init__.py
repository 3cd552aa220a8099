"""The metastore: the only package that imports SQLAlchemy. Tables, sessions, migrations."""
