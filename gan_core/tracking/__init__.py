"""What every run goes through, ours or a user's: the schema of its records, the sinks they go to, the run
folder's metadata, the tolerant tailing reader, and the tracking API for a user's own training loop."""
