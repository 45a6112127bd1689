"""The WSGI side: routing, the request cycle, content negotiation."""
