"""Trade-connection forums: events, registration, B2B meetings, schedule, check-in, outcomes."""
