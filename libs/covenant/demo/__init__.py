"""A realistic week at a bank branch: a seeded data generator, a loader that uses only the public gRPC
APIs, and a summary (``covenant demo``)."""
