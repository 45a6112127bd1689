"""The domain model: users, indexes (stages), projects, releases and files."""
