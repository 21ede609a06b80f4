"""Pure attendance domain: geo math and the place index, ping validation, stop detection, integrity checks,
the working day (route, summary). No gRPC or SQLAlchemy here."""
