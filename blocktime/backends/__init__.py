"""Calendar backends: the protocol every use case goes through, and its implementations."""
