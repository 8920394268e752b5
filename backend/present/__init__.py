"""What a person or a script reads of a snapshot: the status text and the status JSON."""
