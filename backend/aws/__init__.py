"""AWS as Cutover talks to it: one boto3 Session and its clients per target (`session`), the
server's clock from the responses' Date headers (`clock`), and one vocabulary of AWS errors
(`errors`). Importing the package imports none of them: the hooks, which start on an instance,
take only what they use."""
