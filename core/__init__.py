"""The kernel every app shares: errors, enqueue-on-commit, crypto, parsers, content
negotiation, logging, middleware and the API's error shape. It imports no app."""
