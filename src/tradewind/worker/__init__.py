"""Workers: run one task try through the execution API; never hold a database session."""
