"""Everything that knows Kustomer's URLs, headers and JSON: the client, its errors and
data classes, the shared rate limiter, and the Kustomer sandbox server."""
