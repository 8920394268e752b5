"""The sandbox: a local cloud on 127.0.0.1 that speaks the AWS APIs Cutover uses, over a real
data plane. It imports nothing of the product; the product reaches it only over HTTP."""
