"""What every test tier shares: the sandbox's pytest plugin (fixtures `sandbox`,
`shared_sandbox`, `sandbox_factory`, `clients`)."""

pytest_plugins = ["cutover.sandbox.testing"]
