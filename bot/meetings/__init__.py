"""Meeting requests: the request, creating it once with Graph (the ledger), and where
requests wait for their answer (outbox), their requester (waiting) or a card press (open)."""
