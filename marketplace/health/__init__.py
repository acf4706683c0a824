"""`GET /healthz`: is this instance ready for traffic? The database, the search index and Redis,
each with its status and latency (services.py), for load balancers and monitoring (docs/deploy.md)."""
