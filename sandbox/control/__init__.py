"""The sandbox's control API: the server's routes and the one client for them."""
