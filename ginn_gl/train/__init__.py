"""Training with torch: the step engine and the worker thread that records into histories."""
