"""Self-service membership: invoice requests, free trials, a member's own data and account
deletion, and the staff membership overview. Views in ``views``, the work in one module each."""
