"""Small pure helpers that both the product and the sandbox use: they import nothing of
either (nor AWS, nor a UI). Today: reading YAML with errors that name the file and line."""
